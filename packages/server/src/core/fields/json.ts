import type { FieldType } from "./field.js";
import { SettingsErrors } from "./settings-checks.js";

/** Any JSON value. Stored as JSON, default null. Not multi-valued, even when it holds an array. */
export const jsonField: FieldType = {
  type: "json",
  options: {
    maxSize: { kind: "int", default: 0 },
    required: { kind: "bool", default: false },
  },
  isMultiple: () => false,
  columnKind: () => "json",
  validateSettings(field) {
    const e = new SettingsErrors();
    e.int("maxSize", field.maxSize);
    return e.result();
  },
};
