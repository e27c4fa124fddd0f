import { fieldError } from "../../../errors/index.js";
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

/** Names of uploaded files. Until uploads land, a JSON body may only keep, reorder or drop existing names. */
export const fileValues: FieldValues = {
  ...listBehaviour,
  validate(value, field, ctx) {
    const list = asList(value);
    if (!list.length) return field.required ? REQUIRED : null;
    if (list.length > maxSelectOf(field)) return tooMany(field);
    const existing = asList(ctx.previous);
    if (list.some((name) => !existing.includes(name))) {
      return fieldError("validation_unknown_filenames", "The field contains unknown filenames.");
    }
    return null;
  },
};

/** The list form of a select/relation/file value. */
export function valueList(value: unknown): string[] {
  return asList(value);
}
