import type { ColumnKind } from "../../db/index.js";
import type { ErrorData } from "../../errors/index.js";

/** The field types of PocketBase's collection model. */
export const FIELD_TYPES = [
  "text",
  "editor",
  "number",
  "bool",
  "email",
  "url",
  "date",
  "autodate",
  "select",
  "json",
  "relation",
  "file",
  "password",
  "geoPoint",
] as const;

/** One of the field type names. */
export type FieldTypeName = (typeof FIELD_TYPES)[number];

/**
 * A field of a collection, as PocketBase's JSON describes it: the common keys plus the type's own options
 * (for example `min`, `max`, `pattern` on text; `values`, `maxSelect` on select).
 */
export interface Field {
  id: string;
  name: string;
  type: FieldTypeName;
  system: boolean;
  hidden: boolean;
  presentable: boolean;
  [option: string]: unknown;
}

/** How an option value is checked and coerced when a field definition is loaded. */
export type OptionKind =
  | "int"
  | "number"
  | "numberOrNull"
  | "string"
  | "bool"
  | "strings"
  | "stringsOrNull"
  | "date";

/** What a field's settings validation may look at besides the field itself. */
export interface SettingsContext {
  /** The collection that holds the field. */
  readonly collection: { readonly id: string; readonly type: string; readonly name: string };
  /** The field as it was before this change, when it existed. */
  readonly previous: Field | undefined;
  /** Finds another collection by id or name. */
  findCollection(idOrName: string): { readonly id: string; readonly type: string } | undefined;
}

/** The behaviour of one field type: its options, its column, and its settings validation. */
export interface FieldType {
  readonly type: FieldTypeName;
  /** The type's own option keys with their defaults and kinds. */
  readonly options: Readonly<Record<string, { readonly kind: OptionKind; readonly default: unknown }>>;
  /** True when values of this field (given its options) are lists. */
  isMultiple(field: Field): boolean;
  /** The column storage for this field. */
  columnKind(field: Field): ColumnKind;
  /** Checks the field's options; returns per-option errors, or null. */
  validateSettings(field: Field, ctx: SettingsContext): ErrorData | null;
}

/** The largest integer JSON numbers carry safely. */
export const MAX_SAFE_INT = Number.MAX_SAFE_INTEGER;

/** True for a select, relation or file field holding more than one value. */
export function isMultiValued(field: Field): boolean {
  return (
    (field.type === "select" || field.type === "relation" || field.type === "file") &&
    Number(field.maxSelect) > 1
  );
}
