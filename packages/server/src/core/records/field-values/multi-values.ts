import { fieldError } from "../../../errors/index.js";
import { baseMime, UploadedFile } from "../../../files/index.js";
import { type Field, isMultiValued } from "../../fields/index.js";
import { BadValue, type FieldValues, REQUIRED, toUniqueStrings } from "./value-kit.js";

/** A single field keeps the last selected value; a multiple one keeps the list. */
function normalize(list: string[], field: Field): string | string[] {
  if (isMultiValued(field)) return list;
  return list.length ? list[list.length - 1] : "";
}

function asList(value: unknown): string[] {
  if (Array.isArray(value)) return value as string[];
  return typeof value === "string" && value !== "" ? [value] : [];
}

function maxSelectOf(field: Field): number {
  return Math.max(Number(field.maxSelect) || 0, 1);
}

function tooMany(field: Field) {
  const maxSelect = maxSelectOf(field);
  return fieldError("validation_too_many_values", `Select no more than ${maxSelect}.`, { maxSelect });
}

/** Shared behaviour of select, relation and file values: list normalisation and the three modifiers. */
const listBehaviour: Pick<FieldValues, "prepare" | "modify" | "toDb"> = {
  prepare(raw, field) {
    const list = toUniqueStrings(raw);
    return list instanceof BadValue ? list : normalize(list, field);
  },
  modify(current, modifier, raw, field) {
    const given = toUniqueStrings(raw);
    if (given instanceof BadValue) return given;
    const now = asList(current);
    let next: string[];
    if (modifier === "append") next = [...now, ...given.filter((v) => !now.includes(v))];
    else if (modifier === "prepend") next = [...given, ...now.filter((v) => !given.includes(v))];
    else next = now.filter((v) => !given.includes(v));
    return normalize(next, field);
  },
  toDb: (value, field) => (isMultiValued(field) ? JSON.stringify(asList(value)) : asList(value).join("")),
};

/** One or more values out of the field's `values`. */
export const selectValues: FieldValues = {
  ...listBehaviour,
  validate(value, field) {
    const list = asList(value);
    if (!list.length) return field.required ? REQUIRED : null;
    if (list.length > maxSelectOf(field)) return tooMany(field);
    const allowed = (field.values as string[]) ?? [];
    for (const v of list) {
      if (!allowed.includes(v)) {
        return fieldError("validation_invalid_value", `Invalid value ${v}.`, { value: v });
      }
    }
    return null;
  },
};

/** Ids of records of another collection; their existence is checked by the records service (it needs the database). */
export const relationValues: FieldValues = {
  ...listBehaviour,
  validate(value, field) {
    const list = asList(value);
    if (!list.length) return field.required ? REQUIRED : null;
    const minSelect = Number(field.minSelect) || 0;
    if (minSelect > 0 && list.length < minSelect) {
      return fieldError("validation_not_enough_values", `Select at least ${minSelect}.`, { minSelect });
    }
    if (list.length > maxSelectOf(field)) return tooMany(field);
    return null;
  },
};

/** PocketBase's default `maxSize` of a file field (5 MiB) when the field sets none. */
export const DEFAULT_FILE_MAX_SIZE = 5 << 20;

/** A file field's items: kept names (strings) and new uploads, in order, without duplicates. */
function fileItems(raw: unknown): (string | UploadedFile)[] | BadValue {
  const list = Array.isArray(raw) ? raw : raw instanceof UploadedFile ? [raw] : null;
  if (!list) return toUniqueStrings(raw);
  const out: (string | UploadedFile)[] = [];
  for (const item of list) {
    if (item instanceof UploadedFile) {
      if (!out.includes(item)) out.push(item);
      continue;
    }
    const names = toUniqueStrings(item);
    if (names instanceof BadValue) return names;
    for (const n of names) if (!out.includes(n)) out.push(n);
  }
  return out;
}

function fileName(item: unknown): string {
  return item instanceof UploadedFile ? item.name : String(item);
}

function fileList(value: unknown): (string | UploadedFile)[] {
  if (Array.isArray(value)) return value as (string | UploadedFile)[];
  if (value instanceof UploadedFile) return [value];
  return typeof value === "string" && value !== "" ? [value] : [];
}

/**
 * Stored names of uploaded files. A submitted value mixes kept names (which must already be the record's)
 * and new {@link UploadedFile}s (checked against `maxSize` and `mimeTypes`); `field+`/`+field` add uploads,
 * `field-` removes names.
 */
export const fileValues: FieldValues = {
  prepare(raw, field) {
    const list = fileItems(raw);
    if (list instanceof BadValue) return list;
    if (isMultiValued(field)) return list;
    return list.length ? list[list.length - 1] : "";
  },
  modify(current, modifier, raw, field) {
    const given = fileItems(raw);
    if (given instanceof BadValue) return given;
    const now = fileList(current);
    let next: (string | UploadedFile)[];
    if (modifier === "append") next = [...now, ...given.filter((v) => !now.includes(v))];
    else if (modifier === "prepend") next = [...given, ...now.filter((v) => !given.includes(v))];
    else {
      const removed = new Set(given.map(fileName));
      next = now.filter((v) => !removed.has(fileName(v)));
    }
    if (isMultiValued(field)) return next;
    return next.length ? next[next.length - 1] : "";
  },
  validate(value, field, ctx) {
    const list = fileList(value);
    if (!list.length) return field.required ? REQUIRED : null;
    if (list.length > maxSelectOf(field)) return tooMany(field);
    const existing = asList(ctx.previous);
    const maxSize = Number(field.maxSize) > 0 ? Number(field.maxSize) : DEFAULT_FILE_MAX_SIZE;
    const mimeTypes = ((field.mimeTypes as string[] | null) ?? []).map((m) => m.toLowerCase());
    for (const item of list) {
      if (!(item instanceof UploadedFile)) {
        if (!existing.includes(item)) {
          return fieldError("validation_unknown_filenames", "The field contains unknown filenames.");
        }
        continue;
      }
      if (item.size > maxSize) {
        return fieldError(
          "validation_file_size_limit",
          `Failed to upload ${item.originalName} - the maximum allowed file size is ${maxSize} bytes.`,
          { file: item.originalName, maxSize },
        );
      }
      if (mimeTypes.length && !mimeTypes.includes(baseMime(item.mimeType))) {
        return fieldError(
          "validation_invalid_mime_type",
          `"${item.originalName}" mime type must be one of: ${mimeTypes.join(", ")}.`,
          { file: item.originalName, types: mimeTypes.join(", ") },
        );
      }
    }
    return null;
  },
  toDb(value, field) {
    const names = fileList(value).map(fileName);
    return isMultiValued(field) ? JSON.stringify(names) : names.join("");
  },
};

/** The list form of a select/relation/file value. */
export function valueList(value: unknown): string[] {
  return asList(value);
}
