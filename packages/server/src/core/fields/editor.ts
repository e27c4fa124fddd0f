import type { FieldType } from "./field.js";
import { SettingsErrors } from "./settings-checks.js";

/** Rich text (HTML). Stored as TEXT, default ''. */
export const editorField: FieldType = {
  type: "editor",
  options: {
    convertURLs: { kind: "bool", default: false },
    maxSize: { kind: "int", default: 0 },
    required: { kind: "bool", default: false },
  },
  isMultiple: () => false,
  columnKind: () => "text",
  validateSettings(field) {
    const e = new SettingsErrors();
    e.int("maxSize", field.maxSize);
    return e.result();
  },
};
