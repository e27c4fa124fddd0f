import type { Dialect, IndexSpec } from "../../db/index.js";

/** A parsed `CREATE INDEX` definition; `where` keeps its tokens so any dialect can render it. */
export interface ParsedIndex {
  unique: boolean;
  name: string;
  table: string;
  columns: { name: string; collate?: "nocase"; desc?: boolean }[];
  where: WhereToken[];
}

/** A token of a partial-index condition. */
export type WhereToken =
  | { kind: "ident"; value: string }
  | { kind: "string"; value: string }
  | { kind: "number"; value: string }
  | { kind: "op"; value: string }
  | { kind: "keyword"; value: string };

const IDENT = String.raw`(?:\x60[^\x60]+\x60|"[^"]+"|\[[^\]]+\]|[A-Za-z_][A-Za-z0-9_]*)`;
const CREATE_RE = new RegExp(
  String.raw`^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?(${IDENT})\s+ON\s+(${IDENT})\s*\(([^()]*)\)\s*(?:WHERE\s+([\s\S]+?))?\s*;?\s*$`,
  "i",
);
const COLUMN_RE = new RegExp(String.raw`^\s*(${IDENT})(?:\s+COLLATE\s+(NOCASE))?(?:\s+(ASC|DESC))?\s*$`, "i");
const KEYWORDS = new Set(["AND", "OR", "NOT", "IS", "NULL", "TRUE", "FALSE"]);
/** Bare words that would make a WHERE part more than a simple condition; they must be quoted to be columns. */
const FORBIDDEN_WORDS =
  /^(select|from|union|insert|update|delete|drop|create|alter|attach|detach|pragma|with|values|exists|case|when|then|else|end|like|glob|match|regexp|in|between|cast|collate|escape|limit|order|group|having|join)$/i;

function unquote(ident: string): string {
  const first = ident[0];
  if (first === "`" || first === '"' || first === "[") return ident.slice(1, -1);
  return ident;
}

const WHERE_PATTERNS: { re: RegExp; make: (text: string, groups: RegExpExecArray) => WhereToken }[] = [
  { re: /^'((?:[^']|'')*)'/, make: (_t, g) => ({ kind: "string", value: g[1].replaceAll("''", "'") }) },
  { re: /^-?\d+(?:\.\d+)?/, make: (t) => ({ kind: "number", value: t }) },
  { re: /^(?:!=|<>|<=|>=|=|<|>|\(|\))/, make: (t) => ({ kind: "op", value: t }) },
  {
    re: new RegExp(`^${IDENT}`),
    make: (t) =>
      /^[A-Za-z_]/.test(t) && KEYWORDS.has(t.toUpperCase())
        ? { kind: "keyword", value: t.toUpperCase() }
        : { kind: "ident", value: unquote(t) },
  },
];

function tokenizeWhere(text: string): WhereToken[] | null {
  const tokens: WhereToken[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i])) {
      i++;
      continue;
    }
    const rest = text.slice(i);
    const hit = WHERE_PATTERNS.map((p) => ({ p, m: p.re.exec(rest) })).find((x) => x.m);
    if (!hit?.m || FORBIDDEN_WORDS.test(hit.m[0])) return null;
    tokens.push(hit.p.make(hit.m[0], hit.m));
    i += hit.m[0].length;
  }
  return tokens;
}

/**
 * Parses a `CREATE [UNIQUE] INDEX name ON table (col [COLLATE NOCASE] [ASC|DESC], …) [WHERE …]` string.
 * The WHERE part may use only columns, string and number literals, comparisons, AND/OR/NOT, IS [NOT] NULL and
 * parentheses. Returns null for anything else.
 */
export function parseIndex(sql: string): ParsedIndex | null {
  if (typeof sql !== "string" || sql.length > 2000) return null;
  const m = CREATE_RE.exec(sql);
  if (!m) return null;
  const columns: ParsedIndex["columns"] = [];
  for (const part of m[4].split(",")) {
    const c = COLUMN_RE.exec(part);
    if (!c) return null;
    columns.push({
      name: unquote(c[1]),
      ...(c[2] ? { collate: "nocase" as const } : {}),
      ...(c[3]?.toUpperCase() === "DESC" ? { desc: true } : {}),
    });
  }
  if (!columns.length) return null;
  const where = m[5] ? tokenizeWhere(m[5]) : [];
  if (where === null) return null;
  let depth = 0;
  for (const t of where) {
    if (t.value === "(") depth++;
    if (t.value === ")" && --depth < 0) return null;
  }
  if (depth !== 0) return null;
  return { unique: Boolean(m[1]), name: unquote(m[2]), table: unquote(m[3]), columns, where };
}

/** The canonical text of an index, in PocketBase's backtick style, for the collection's table. */
export function formatIndex(index: ParsedIndex, table: string): string {
  const cols = index.columns
    .map((c) => `\`${c.name}\`${c.collate ? " COLLATE NOCASE" : ""}${c.desc ? " DESC" : ""}`)
    .join(", ");
  const where = index.where.length ? ` WHERE ${renderWhere(index.where, (id) => `\`${id}\``)}` : "";
  return `CREATE ${index.unique ? "UNIQUE " : ""}INDEX \`${index.name}\` ON \`${table}\` (${cols})${where}`;
}

function renderWhere(tokens: WhereToken[], quote: (ident: string) => string): string {
  return tokens
    .map((t) => {
      if (t.kind === "ident") return quote(t.value);
      if (t.kind === "string") return `'${t.value.replaceAll("'", "''")}'`;
      return t.value;
    })
    .join(" ")
    .replaceAll("( ", "(")
    .replaceAll(" )", ")");
}

/** The dialect-neutral index spec for schema sync, rendering the WHERE part with the dialect's quoting. */
export function toIndexSpec(index: ParsedIndex, dialect: Dialect): IndexSpec {
  return {
    name: index.name,
    unique: index.unique,
    columns: index.columns,
    ...(index.where.length ? { where: renderWhere(index.where, (id) => dialect.quoteIdent(id)) } : {}),
  };
}
