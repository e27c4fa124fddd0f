import type { SearchDialect, SearchIndexSpec, SearchTerms } from "../dialect.js";

const q = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

// Every ASCII punctuation character (!-/ :-@ [-` {-~) becomes a space before PostgreSQL's parser runs, so
// e-mails, URLs, paths and hyphenated words split into words as SQLite's unicode61 tokenizer splits them.
const PUNCTUATION = "'[!-/:-@\\[-`{-~]+'";

/** The document of a row: its searched columns as one tsvector (the 'simple' configuration: no stemming). */
function documentExpr(spec: SearchIndexSpec, alias?: string): string {
  const col = (c: string) => (alias ? `${q(alias)}.${q(c)}` : q(c));
  const text = spec.columns.map((c) => `coalesce(${col(c)}, '')`).join(" || ' ' || ");
  return `to_tsvector('simple'::regconfig, regexp_replace(${text}, ${PUNCTUATION}, ' ', 'g'))`;
}

/**
 * The tsquery text: every word single-quoted (words hold only letters and digits, so no operator can come
 * from the client), ANDed, the last one optionally as a prefix (`:*`).
 */
export function tsQueryText(terms: SearchTerms): string {
  return terms.words
    .map((w, i) => {
      const quoted = `'${w.replaceAll("\\", "").replaceAll("'", "")}'`;
      return terms.prefixLast && i === terms.words.length - 1 ? `${quoted}:*` : quoted;
    })
    .join(" & ");
}

/**
 * PostgreSQL: a GIN index on the rows' tsvector expression. The index is the only stored copy and
 * PostgreSQL maintains it in every writing transaction; it follows table and column renames by itself.
 * Ranked with ts_rank (larger is better), which counts how often the words occur.
 */
export const postgresSearch: SearchDialect = {
  createIndex(spec) {
    return [`CREATE INDEX ${q(spec.name)} ON ${q(spec.table)} USING GIN ((${documentExpr(spec)}))`];
  },
  dropIndex(spec) {
    return [`DROP INDEX IF EXISTS ${q(spec.name)}`];
  },
  match(spec, alias, terms) {
    const doc = documentExpr(spec, alias);
    const query = "to_tsquery('simple'::regconfig, CAST(? AS TEXT))";
    const text = tsQueryText(terms);
    return {
      join: null,
      where: { sql: `${doc} @@ ${query}`, params: [text] },
      rank: { sql: `ts_rank(${doc}, ${query}) DESC`, params: [text] },
    };
  },
};
