import type { FieldType } from "./field.js";

/** A boolean. Stored as BOOLEAN, default false; `required` means it must be true. */
export const boolField: FieldType = {
  type: "bool",
  options: { required: { kind: "bool", default: false } },
  isMultiple: () => false,
  columnKind: () => "bool",
  validateSettings: () => null,
};
