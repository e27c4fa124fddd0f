import type { FieldType } from "./field.js";
import { SettingsErrors } from "./settings-checks.js";

const THUMB_RE = /^(\d+)x(\d+)(t|b|f)?$/;

/** Uploaded file names. Single: TEXT; multiple (maxSelect > 1): a JSON array of names. */
export const fileField: FieldType = {
  type: "file",
  options: {
    maxSelect: { kind: "int", default: 0 },
    maxSize: { kind: "int", default: 0 },
    mimeTypes: { kind: "stringsOrNull", default: null },
    protected: { kind: "bool", default: false },
    required: { kind: "bool", default: false },
    thumbs: { kind: "stringsOrNull", default: null },
  },
  isMultiple: (field) => Number(field.maxSelect) > 1,
  columnKind: (field) => (Number(field.maxSelect) > 1 ? "jsonArray" : "text"),
  validateSettings(field) {
    const e = new SettingsErrors();
    e.int("maxSelect", field.maxSelect);
    e.int("maxSize", field.maxSize);
    for (const thumb of (field.thumbs as string[] | null) ?? []) {
      const m = THUMB_RE.exec(thumb);
      if (!m || (m[1] === "0" && m[2] === "0")) {
        e.add("thumbs", "validation_invalid_thumb_size", `Invalid thumb size "${thumb.slice(0, 50)}".`);
      }
    }
    return e.result();
  },
};
