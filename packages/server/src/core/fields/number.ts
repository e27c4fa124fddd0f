import type { FieldType } from "./field.js";
import { SettingsErrors } from "./settings-checks.js";

/** A number (float unless `onlyInt`). Stored as NUMERIC, default 0. */
export const numberField: FieldType = {
  type: "number",
  options: {
    max: { kind: "numberOrNull", default: null },
    min: { kind: "numberOrNull", default: null },
    onlyInt: { kind: "bool", default: false },
    required: { kind: "bool", default: false },
  },
  isMultiple: () => false,
  columnKind: () => "number",
  validateSettings(field) {
    const e = new SettingsErrors();
    const min = field.min as number | null;
    const max = field.max as number | null;
    if (field.onlyInt) {
      if (min !== null && !Number.isInteger(min))
        e.add("min", "validation_only_int_constraint", "Decimal numbers are not allowed.");
      if (max !== null && !Number.isInteger(max))
        e.add("max", "validation_only_int_constraint", "Decimal numbers are not allowed.");
    }
    if (min !== null && max !== null && max < min) {
      e.add("max", "validation_min_greater_equal_than_required", `Must be no less than ${min}.`, {
        threshold: min,
      });
    }
    return e.result();
  },
};
