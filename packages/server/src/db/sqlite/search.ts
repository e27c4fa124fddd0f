import type { SearchDialect, SearchIndexSpec, SearchTerms } from "../dialect.js";

const q = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

/** The FTS5 column names: positional, so a field named like an FTS5 reserved column (`rank`) still works. */
const ftsColumns = (spec: SearchIndexSpec) => spec.columns.map((_, i) => q(`c${i}`));

const values = (spec: SearchIndexSpec, row: "new" | "old") =>
  spec.columns.map((c) => `${row}.${q(c)}`).join(", ");

/**
 * The FTS5 query text: every word as a quoted string (so no FTS5 operator, column filter or NEAR group can
 * come from the client), all of them required; the last one optionally as a prefix.
 */
export function fts5Query(terms: SearchTerms): string {
  return terms.words
    .map((w, i) => {
      const quoted = `"${w.replaceAll('"', '""')}"`;
      return terms.prefixLast && i === terms.words.length - 1 ? `${quoted}*` : quoted;
    })
    .join(" ");
}

/**
 * SQLite: a contentless FTS5 table (`contentless_delete`, SQLite 3.43+) keyed on the records table's rowid,
 * kept up to date by triggers, so every write path (API, batch, hooks, imports, raw SQL) changes it in the
 * writer's transaction. Contentless means no copy of the text and no dependency on the table's name, so a
 * rename needs no rebuild; words are runs of letters and digits (unicode61, case-folded, accents kept to
 * match PostgreSQL). Ranked with bm25 (smaller is better).
 */
export const sqliteSearch: SearchDialect = {
  createIndex(spec) {
    const fts = q(spec.name);
    const table = q(spec.table);
    const cols = ftsColumns(spec).join(", ");
    const watched = spec.columns.map(q).join(", ");
    const insert = `INSERT INTO ${fts}(rowid, ${cols}) VALUES (new.rowid, ${values(spec, "new")});`;
    const remove = `DELETE FROM ${fts} WHERE rowid = old.rowid;`;
    return [
      `CREATE VIRTUAL TABLE ${fts} USING fts5(${cols}, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 0')`,
      `CREATE TRIGGER ${q(`${spec.name}_ai`)} AFTER INSERT ON ${table} BEGIN ${insert} END`,
      `CREATE TRIGGER ${q(`${spec.name}_ad`)} AFTER DELETE ON ${table} BEGIN ${remove} END`,
      `CREATE TRIGGER ${q(`${spec.name}_au`)} AFTER UPDATE OF ${watched} ON ${table} BEGIN ${remove} ${insert} END`,
      `INSERT INTO ${fts}(rowid, ${cols}) SELECT rowid, ${spec.columns.map(q).join(", ")} FROM ${table}`,
    ];
  },
  dropIndex(spec) {
    return [
      ...["ai", "ad", "au"].map((s) => `DROP TRIGGER IF EXISTS ${q(`${spec.name}_${s}`)}`),
      `DROP TABLE IF EXISTS ${q(spec.name)}`,
    ];
  },
  match(spec, alias, terms) {
    // FTS5's hidden match column and bm25() take the table's own name, not an alias: the index table is
    // joined under its name (unique in the query, since it starts with an underscore like no collection).
    const fts = q(spec.name);
    return {
      // basalt_tick() lets a bounded read stop a search whose matches run past the query time limit
      join: { sql: `JOIN ${fts} ON ${fts}.rowid = ${q(alias)}.rowid AND basalt_tick()`, params: [] },
      where: { sql: `${fts} MATCH ?`, params: [fts5Query(terms)] },
      rank: { sql: `bm25(${fts})`, params: [] },
    };
  },
};
