/**
 * The options of each field type (beside name, hidden, presentable), with how to edit them. Mirrors the
 * server's field registry; the server validates every value anyway.
 */
export const FIELD_OPTIONS = {
  text: [
    ["min", "int"],
    ["max", "int"],
    ["pattern", "string"],
    ["autogeneratePattern", "string"],
    ["required", "bool"],
  ],
  editor: [
    ["maxSize", "int"],
    ["convertURLs", "bool"],
    ["required", "bool"],
  ],
  number: [
    ["min", "numberOrNull"],
    ["max", "numberOrNull"],
    ["onlyInt", "bool"],
    ["required", "bool"],
  ],
  bool: [["required", "bool"]],
  email: [
    ["onlyDomains", "stringsOrNull"],
    ["exceptDomains", "stringsOrNull"],
    ["required", "bool"],
  ],
  url: [
    ["onlyDomains", "stringsOrNull"],
    ["exceptDomains", "stringsOrNull"],
    ["required", "bool"],
  ],
  date: [
    ["min", "date"],
    ["max", "date"],
    ["required", "bool"],
  ],
  autodate: [
    ["onCreate", "bool"],
    ["onUpdate", "bool"],
  ],
  select: [
    ["values", "strings"],
    ["maxSelect", "int"],
    ["required", "bool"],
  ],
  json: [
    ["maxSize", "int"],
    ["required", "bool"],
  ],
  relation: [
    ["collectionId", "collection"],
    ["minSelect", "int"],
    ["maxSelect", "int"],
    ["cascadeDelete", "bool"],
    ["required", "bool"],
  ],
  file: [
    ["maxSelect", "int"],
    ["maxSize", "int"],
    ["mimeTypes", "stringsOrNull"],
    ["thumbs", "stringsOrNull"],
    ["protected", "bool"],
    ["required", "bool"],
  ],
  password: [
    ["min", "int"],
    ["max", "int"],
    ["pattern", "string"],
    ["cost", "int"],
    ["required", "bool"],
  ],
  geoPoint: [["required", "bool"]],
};

/** A new field of a type with the options' defaults. */
export function newField(type, name) {
  const f = { name, type, hidden: false, presentable: false, system: false };
  for (const [key, kind] of FIELD_OPTIONS[type] ?? []) {
    f[key] =
      kind === "bool"
        ? false
        : kind === "int"
          ? 0
          : kind === "strings"
            ? []
            : kind.endsWith("OrNull")
              ? null
              : "";
  }
  if (type === "select" || type === "relation" || type === "file") f.maxSelect = 1;
  if (type === "autodate") f.onCreate = true;
  return f;
}
