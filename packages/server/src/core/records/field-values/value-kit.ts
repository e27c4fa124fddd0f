import type { SqlValue } from "../../../db/index.js";
import { type FieldError, fieldError } from "../../../errors/index.js";
import { compileLinearPattern, type LinearPattern } from "../../../util/index.js";
import type { Field } from "../../fields/index.js";

/** A submitted value of the wrong shape for its field: reported as that field's validation error. */
export class BadValue {
  constructor(readonly error: FieldError) {}
}

/** How a body modifier key changes a field: `field+` appends/adds, `+field` prepends, `field-` removes/subtracts. */
export type Modifier = "append" | "prepend" | "subtract";

/** What a field's value checks may consult besides the value. */
export interface ValueContext {
  /** True while creating a record. */
  readonly isNew: boolean;
  /** The field's stored value before this change (undefined when creating). */
  readonly previous: unknown;
}

/**
 * The record-value behaviour of one field type: how a submitted value is normalised, how modifiers change
 * it, how it is validated (PocketBase's codes and messages) and how it is stored.
 */
export interface FieldValues {
  /** Normalises a submitted value (never throws); a wrong shape becomes a BadValue. */
  prepare(raw: unknown, field: Field): unknown;
  /** Applies a body modifier to the current value; undefined when the type has no such modifier. */
  modify?(current: unknown, modifier: Modifier, raw: unknown, field: Field): unknown;
  /** Checks a prepared value against the field's options; null when valid. */
  validate(value: unknown, field: Field, ctx: ValueContext): FieldError | null;
  /** The driver value stored for a prepared value. */
  toDb(value: unknown, field: Field): SqlValue;
}

/** `Cannot be blank.` */
export const REQUIRED = fieldError("validation_required", "Cannot be blank.");

/** A value of an unusable type. */
export function invalidValue(): BadValue {
  return new BadValue(fieldError("validation_invalid_value", "Invalid value."));
}

/** PocketBase's cast.ToString for the scalar shapes; objects and arrays are refused. */
export function toText(raw: unknown): string | BadValue {
  if (raw === null || raw === undefined) return "";
  if (typeof raw === "string") return raw;
  if (typeof raw === "number") return Number.isFinite(raw) ? String(raw) : invalidValue();
  if (typeof raw === "boolean") return raw ? "true" : "false";
  return invalidValue();
}

/** PocketBase's list.ToUniqueStringSlice: a list of distinct non-empty strings from a value or JSON array text. */
export function toUniqueStrings(raw: unknown): string[] | BadValue {
  let list: unknown[];
  if (raw === null || raw === undefined) list = [];
  else if (Array.isArray(raw)) list = raw;
  else if (typeof raw === "string") {
    const t = raw.trim();
    if (t.startsWith("[") && t.endsWith("]")) {
      try {
        const parsed = JSON.parse(t) as unknown;
        list = Array.isArray(parsed) ? parsed : [raw];
      } catch {
        list = [raw];
      }
    } else list = [raw];
  } else if (typeof raw === "number" || typeof raw === "boolean") list = [String(raw)];
  else return invalidValue();
  const out: string[] = [];
  for (const item of list) {
    const s = toText(item);
    if (s instanceof BadValue) return s;
    if (s !== "" && !out.includes(s)) out.push(s);
  }
  return out;
}

/** The plain-text length in characters (code points), as PocketBase counts runes. */
export function runeLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** Compiles a field's pattern (RE2 syntax, linear-time matching) once per pattern text. */
const patterns = new Map<string, LinearPattern | null>();
export function fieldPattern(pattern: string): LinearPattern | null {
  let re = patterns.get(pattern);
  if (re === undefined) {
    try {
      re = compileLinearPattern(pattern);
    } catch {
      re = null;
    }
    if (patterns.size > 1000) patterns.clear();
    patterns.set(pattern, re);
  }
  return re;
}
