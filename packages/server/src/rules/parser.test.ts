import { describe, expect, it } from "vitest";
import { FilterError } from "./errors.js";
import { tokenize } from "./lexer.js";
import { FILTER_LIMITS, parseFilter } from "./parser.js";

describe("tokenize", () => {
  it("scans identifiers, numbers, texts, operators, joins and drops comments", () => {
    const kinds = tokenize("a.b:each ?>= -1.5 && 'x' // note\n|| (c != \"y\")").map(
      (t) => `${t.kind}:${t.value}`,
    );
    expect(kinds).toEqual([
      "ident:a.b:each",
      "sign:?>=",
      "number:-1.5",
      "join:&&",
      "text:x",
      "join:||",
      "lparen:(",
      "ident:c",
      "sign:!=",
      "text:y",
      "rparen:)",
      "eof:",
    ]);
  });

  it("unescapes only the quote character, as fexpr does", () => {
    expect(tokenize(String.raw`"a\"b"`)[0].value).toBe('a"b');
    expect(tokenize(String.raw`'a\'b'`)[0].value).toBe("a'b");
    expect(tokenize(String.raw`"a\nb"`)[0].value).toBe(String.raw`a\nb`);
    expect(tokenize(String.raw`'a\"b'`)[0].value).toBe(String.raw`a\"b`);
  });

  it.each([
    ["/* c */"],
    ["a = 1\r"],
    ["a = 1e3"],
    ["a = 1."],
    ["a === 1"],
    ["a & b"],
    ["a = 'x"],
    ["a = é"],
    ["a ; b"],
    ["a ?? 1"],
  ])("rejects %s", (src) => {
    expect(() => parseFilter(src)).toThrow(FilterError);
  });
});

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof FilterError ? err.reason : "not a FilterError";
  }
  return "no error";
}

describe("parseFilter", () => {
  it("binds && tighter than ||", () => {
    expect(parseFilter("a = 1 || b = 2 && c = 3")).toMatchObject({
      kind: "or",
      items: [{ kind: "cmp" }, { kind: "and", items: [{ kind: "cmp" }, { kind: "cmp" }] }],
    });
  });

  it("parses the any-of prefix, groups and function calls", () => {
    expect(parseFilter("(tags:each ?~ 'x')")).toEqual({
      kind: "cmp",
      op: "~",
      any: true,
      left: { kind: "ident", name: "tags:each" },
      right: { kind: "text", value: "x" },
    });
    expect(parseFilter("geoDistance(a.lon, a.lat, 1, -2) < 5")).toMatchObject({
      left: {
        kind: "call",
        name: "geoDistance",
        args: [{ name: "a.lon" }, { name: "a.lat" }, { value: 1 }, { value: -2 }],
      },
    });
  });

  it.each([
    [""],
    ["   "],
    ["// only a comment"],
    ["()"],
    ["a"],
    ["a ="],
    ["= 1"],
    ["a = 1 &&"],
    ["(a = 1"],
    ["a = 1)"],
    ["a = 1 b = 2"],
  ])("rejects %j", (src) => {
    expect(() => parseFilter(src)).toThrow(FilterError);
  });

  it("enforces PocketBase's limits", () => {
    expect(reasonOf(() => parseFilter(`a = "${"x".repeat(FILTER_LIMITS.maxLength)}"`))).toMatch(/longer/);
    const many = Array.from({ length: FILTER_LIMITS.maxExpressions + 1 }, () => "a=1").join("&&");
    expect(reasonOf(() => parseFilter(many))).toMatch(/expressions/);
    expect(() => parseFilter(Array.from({ length: 200 }, () => "a=1").join("&&"))).not.toThrow();
    expect(() => parseFilter("f(f(f(1))) = 1")).not.toThrow();
    expect(reasonOf(() => parseFilter("f(f(f(f(1)))) = 1"))).toMatch(/nested/);
  });

  it("reports a 400 with PocketBase's generic message and keeps the detail for logs", () => {
    try {
      parseFilter("a = ");
      expect.unreachable();
    } catch (err) {
      const e = err as FilterError;
      expect(e.status).toBe(400);
      expect(e.toJSON()).toEqual({
        status: 400,
        message: "Something went wrong while processing your request.",
        data: {},
      });
      expect(e.reason).toMatch(/operand/);
    }
  });
});
