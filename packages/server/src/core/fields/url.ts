import { validateDomainOptions } from "./email.js";
import type { FieldType } from "./field.js";

/** A URL, optionally limited to or excluding domains. Stored as TEXT, default ''. */
export const urlField: FieldType = {
  type: "url",
  options: {
    exceptDomains: { kind: "stringsOrNull", default: null },
    onlyDomains: { kind: "stringsOrNull", default: null },
    required: { kind: "bool", default: false },
  },
  isMultiple: () => false,
  columnKind: () => "text",
  validateSettings: validateDomainOptions,
};
