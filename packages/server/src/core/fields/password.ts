import type { FieldType } from "./field.js";
import { SettingsErrors } from "./settings-checks.js";

/** A password, stored only as a hash and never returned. Stored as TEXT. */
export const passwordField: FieldType = {
  type: "password",
  options: {
    cost: { kind: "int", default: 0 },
    max: { kind: "int", default: 0 },
    min: { kind: "int", default: 0 },
    pattern: { kind: "string", default: "" },
    required: { kind: "bool", default: false },
  },
  isMultiple: () => false,
  columnKind: () => "text",
  validateSettings(field) {
    const e = new SettingsErrors();
    e.int("min", field.min, 0, 71);
    // max 0 means "no explicit maximum" (71 bytes, bcrypt's limit, in PocketBase)
    e.int("max", field.max, Number(field.max) === 0 ? 0 : Number(field.min) || 0, 71);
    e.linearRegex("pattern", field.pattern);
    if (Number(field.cost) !== 0) e.int("cost", field.cost, 4, 31);
    return e.result();
  },
};
