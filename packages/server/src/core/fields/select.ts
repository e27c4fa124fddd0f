import type { FieldType } from "./field.js";
import { SettingsErrors } from "./settings-checks.js";

/** One or more values out of a fixed list. Single: TEXT; multiple (maxSelect > 1): a JSON array. */
export const selectField: FieldType = {
  type: "select",
  options: {
    maxSelect: { kind: "int", default: 0 },
    required: { kind: "bool", default: false },
    values: { kind: "strings", default: [] },
  },
  isMultiple: (field) => Number(field.maxSelect) > 1,
  columnKind: (field) => (Number(field.maxSelect) > 1 ? "jsonArray" : "text"),
  validateSettings(field) {
    const e = new SettingsErrors();
    const values = field.values as string[];
    if (!values.length) e.add("values", "validation_required", "Cannot be blank.");
    if (new Set(values).size !== values.length)
      e.add("values", "validation_duplicated_values", "Values must be unique.");
    if (values.some((v) => v === "")) e.add("values", "validation_empty_value", "Values cannot be empty.");
    e.int("maxSelect", field.maxSelect, 0, Math.max(values.length, 1));
    return e.result();
  },
};
