import { parseDateTime } from "../../util/index.js";
import type { FieldType } from "./field.js";
import { SettingsErrors } from "./settings-checks.js";

/** A datetime in `2006-01-02 15:04:05.000Z` form, optionally bounded. Stored as TEXT, default ''. */
export const dateField: FieldType = {
  type: "date",
  options: {
    max: { kind: "date", default: "" },
    min: { kind: "date", default: "" },
    required: { kind: "bool", default: false },
  },
  isMultiple: () => false,
  columnKind: () => "text",
  validateSettings(field) {
    const e = new SettingsErrors();
    const min = field.min ? parseDateTime(String(field.min)) : null;
    const max = field.max ? parseDateTime(String(field.max)) : null;
    if (min && max && max < min)
      e.add("max", "validation_min_greater_equal_than_required", "Must be after the min date.");
    return e.result();
  },
};
