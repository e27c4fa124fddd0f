import { describe, expect, it } from "vitest";
import { sqliteDialect } from "../../db/index.js";
import { formatIndex, parseIndex, toIndexSpec } from "./indexes.js";

describe("parseIndex", () => {
  it("reads PocketBase's index strings in every quoting style", () => {
    for (const text of [
      "CREATE UNIQUE INDEX `idx_a` ON `posts` (`title`)",
      'create unique index "idx_a" on "posts" ("title");',
      "CREATE UNIQUE INDEX IF NOT EXISTS idx_a ON posts (title)",
      "CREATE UNIQUE INDEX [idx_a] ON [posts] ([title])",
    ]) {
      expect(parseIndex(text)).toEqual({
        unique: true,
        name: "idx_a",
        table: "posts",
        columns: [{ name: "title" }],
        where: [],
      });
    }
  });

  it("keeps collation, direction and a safe WHERE", () => {
    const idx = parseIndex(
      "CREATE INDEX idx_b ON t (a COLLATE NOCASE, b DESC) WHERE `email` != '' AND b IS NOT NULL",
    );
    expect(idx?.columns).toEqual([
      { name: "a", collate: "nocase" },
      { name: "b", desc: true },
    ]);
    expect(formatIndex(idx!, "renamed")).toBe(
      "CREATE INDEX `idx_b` ON `renamed` (`a` COLLATE NOCASE, `b` DESC) WHERE `email` != '' AND `b` IS NOT NULL",
    );
    expect(toIndexSpec(idx!, sqliteDialect).where).toBe(`"email" != '' AND "b" IS NOT NULL`);
  });

  it("refuses anything else", () => {
    for (const text of [
      "CREATE INDEX x ON t ()",
      "CREATE INDEX x ON t (a); DROP TABLE t",
      "CREATE INDEX x ON t (lower(a))",
      "CREATE INDEX x ON t (a) WHERE a = (SELECT 1)",
      "CREATE INDEX x ON t (a) WHERE a = 1; --",
      "CREATE INDEX x ON t (a) WHERE (a = 1",
      "DROP INDEX x",
      "",
    ]) {
      expect(parseIndex(text), text).toBeNull();
    }
  });
});
