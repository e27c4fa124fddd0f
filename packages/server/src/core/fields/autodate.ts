import type { FieldType } from "./field.js";
import { SettingsErrors } from "./settings-checks.js";

/** A datetime the server sets on create and/or update; read-only to clients. Stored as TEXT. */
export const autodateField: FieldType = {
  type: "autodate",
  options: {
    onCreate: { kind: "bool", default: false },
    onUpdate: { kind: "bool", default: false },
  },
  isMultiple: () => false,
  columnKind: () => "text",
  validateSettings(field, ctx) {
    const e = new SettingsErrors();
    if (!field.onCreate && !field.onUpdate) {
      e.add("onCreate", "validation_required", "Either onCreate or onUpdate must be enabled.");
    }
    const prev = ctx.previous;
    if (prev?.system && (prev.onCreate !== field.onCreate || prev.onUpdate !== field.onUpdate)) {
      e.add("onCreate", "validation_system_field_change", "System autodate options cannot be changed.");
    }
    return e.result();
  },
};
