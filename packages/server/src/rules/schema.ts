/** The field types the filter compiler knows (PocketBase's). */
export type RuleFieldType =
  | "text"
  | "editor"
  | "number"
  | "bool"
  | "email"
  | "url"
  | "date"
  | "autodate"
  | "select"
  | "json"
  | "relation"
  | "file"
  | "password"
  | "geoPoint";

/** What the compiler needs of a field; core's Field objects satisfy it structurally. */
export interface RuleField {
  readonly id: string;
  readonly name: string;
  readonly type: RuleFieldType | (string & {});
  readonly hidden?: boolean;
  readonly system?: boolean;
  readonly maxSelect?: number;
  readonly collectionId?: string;
}

/** What the compiler needs of a collection; core's Collection objects satisfy it structurally. */
export interface RuleCollection {
  readonly id: string;
  readonly name: string;
  readonly type: "base" | "auth" | "view" | (string & {});
  readonly fields: readonly RuleField[];
  readonly listRule?: string | null;
  readonly viewRule?: string | null;
  readonly createRule?: string | null;
  readonly updateRule?: string | null;
  readonly deleteRule?: string | null;
  readonly authRule?: string | null;
  readonly manageRule?: string | null;
  /** Raw `CREATE INDEX` statements, used to spot single-column unique relation indexes. */
  readonly indexes?: readonly string[];
}

/** Looks collections up by name or id. */
export interface RuleSchema {
  get(nameOrId: string): RuleCollection | undefined;
}

/** Finds a field by name. */
export function fieldByName(collection: RuleCollection, name: string): RuleField | undefined {
  for (const f of collection.fields) if (f.name === name) return f;
  return undefined;
}

/** True for the field types that store a list of values when maxSelect > 1 (PocketBase's MultiValuer). */
export function isMultiValuer(field: RuleField): boolean {
  return field.type === "select" || field.type === "relation" || field.type === "file";
}

/** True when the field stores a JSON array of values. */
export function isMultiple(field: RuleField): boolean {
  return isMultiValuer(field) && (field.maxSelect ?? 1) > 1;
}

/** True when `collection` has a unique index on exactly `column`. */
export function hasUniqueIndexOn(collection: RuleCollection, column: string): boolean {
  for (const raw of collection.indexes ?? []) {
    const m = /^\s*CREATE\s+UNIQUE\s+INDEX\b[^(]*\(([^)]*)\)/i.exec(raw);
    if (!m) continue;
    const cols = m[1].split(",").map((c) =>
      c
        .trim()
        .split(/\s+/)[0]
        .replace(/^[`"[]|[`"\]]$/g, ""),
    );
    if (cols.length === 1 && cols[0] === column) return true;
  }
  return false;
}
