import type { FieldType } from "./field.js";
import { SettingsErrors } from "./settings-checks.js";

/** Plain text; `primaryKey` marks the `id` field. Stored as TEXT, default ''. */
export const textField: FieldType = {
  type: "text",
  options: {
    autogeneratePattern: { kind: "string", default: "" },
    max: { kind: "int", default: 0 },
    min: { kind: "int", default: 0 },
    pattern: { kind: "string", default: "" },
    primaryKey: { kind: "bool", default: false },
    required: { kind: "bool", default: false },
  },
  isMultiple: () => false,
  columnKind: (field) => (field.primaryKey ? "id" : "text"),
  validateSettings(field) {
    const e = new SettingsErrors();
    e.int("min", field.min);
    // max 0 means "no explicit maximum" (PocketBase then applies its default of 5000 characters)
    e.int("max", field.max, Number(field.max) === 0 ? 0 : Number(field.min) || 0);
    e.linearRegex("pattern", field.pattern, field.primaryKey === true);
    e.regex("autogeneratePattern", field.autogeneratePattern);
    if (field.primaryKey) {
      if (field.name !== "id")
        e.add("primaryKey", "validation_invalid_primary_key", 'The primary key must be named "id".');
      if (field.hidden) e.add("hidden", "validation_primary_key_hidden", "The primary key cannot be hidden.");
      if (!field.required)
        e.add("required", "validation_primary_key_required", "The primary key must be required.");
    }
    return e.result();
  },
};
