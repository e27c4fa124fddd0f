import { FilterError } from "./errors.js";

/** The kinds of token the filter scanner produces. */
export type TokenKind = "ident" | "number" | "text" | "sign" | "join" | "lparen" | "rparen" | "comma" | "eof";

/** One scanned token; `pos`/`end` are offsets into the source text. */
export interface Token {
  readonly kind: TokenKind;
  readonly value: string;
  readonly pos: number;
  readonly end: number;
}

const SIGNS = new Set(["=", "!=", "~", "!~", "<", "<=", ">", ">="]);
const IDENT_RE = /^[@#_]?[\w.:]*\w$/;
const NUMBER_RE = /^-?\d+(\.\d+)?$/;

const isDigit = (c: string) => c >= "0" && c <= "9";
const isLetter = (c: string) => (c >= "a" && c <= "z") || (c >= "A" && c <= "Z");
const isIdentStart = (c: string) => isLetter(c) || c === "_" || c === "@" || c === "#";
const isIdentPart = (c: string) => isLetter(c) || isDigit(c) || c === "_" || c === "." || c === ":";
const isSignChar = (c: string) => c === "=" || c === "!" || c === "<" || c === ">" || c === "~" || c === "?";
// fexpr's whitespace: no carriage return.
const isSpace = (c: string) => c === " " || c === "\t" || c === "\n";

function scanText(src: string, start: number): { value: string; end: number } {
  const quote = src[start];
  let prev = "";
  for (let i = start + 1; i < src.length; i++) {
    const ch = src[i];
    // As in fexpr, a quote ends the text unless the character right before it is a backslash.
    if (ch === quote && prev !== "\\") {
      const raw = src.slice(start + 1, i);
      return { value: raw.replaceAll(`\\${quote}`, quote), end: i + 1 };
    }
    prev = ch;
  }
  throw new FilterError(`unterminated quoted text at ${start}`);
}

/** Splits a filter string into tokens (whitespace and `//` comments dropped); throws FilterError on bad input. */
export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i];
    if (isSpace(ch)) {
      i += 1;
      continue;
    }
    if (ch === "/") {
      if (src[i + 1] !== "/") throw new FilterError(`unexpected character "/" at ${i}`);
      const nl = src.indexOf("\n", i);
      i = nl < 0 ? src.length : nl + 1;
      continue;
    }
    const start = i;
    if (ch === "(" || ch === ")" || ch === ",") {
      out.push({
        kind: ch === "(" ? "lparen" : ch === ")" ? "rparen" : "comma",
        value: ch,
        pos: start,
        end: i + 1,
      });
      i += 1;
      continue;
    }
    if (ch === "'" || ch === '"') {
      const t = scanText(src, i);
      out.push({ kind: "text", value: t.value, pos: start, end: t.end });
      i = t.end;
      continue;
    }
    if (isDigit(ch) || (ch === "-" && i + 1 < src.length && isDigit(src[i + 1]))) {
      i += 1;
      while (i < src.length && (isDigit(src[i]) || src[i] === ".")) i += 1;
      const lit = src.slice(start, i);
      if (!NUMBER_RE.test(lit)) throw new FilterError(`invalid number ${JSON.stringify(lit)}`);
      out.push({ kind: "number", value: lit, pos: start, end: i });
      continue;
    }
    if (isIdentStart(ch)) {
      i += 1;
      while (i < src.length && isIdentPart(src[i])) i += 1;
      const lit = src.slice(start, i);
      if (!IDENT_RE.test(lit)) throw new FilterError(`invalid identifier ${JSON.stringify(lit)}`);
      out.push({ kind: "ident", value: lit, pos: start, end: i });
      continue;
    }
    if (isSignChar(ch)) {
      while (i < src.length && isSignChar(src[i])) i += 1;
      const lit = src.slice(start, i);
      const bare = lit.startsWith("?") ? lit.slice(1) : lit;
      if (!SIGNS.has(bare)) throw new FilterError(`invalid operator ${JSON.stringify(lit)}`);
      out.push({ kind: "sign", value: lit, pos: start, end: i });
      continue;
    }
    if (ch === "&" || ch === "|") {
      while (i < src.length && (src[i] === "&" || src[i] === "|")) i += 1;
      const lit = src.slice(start, i);
      if (lit !== "&&" && lit !== "||") throw new FilterError(`invalid join operator ${JSON.stringify(lit)}`);
      out.push({ kind: "join", value: lit, pos: start, end: i });
      continue;
    }
    throw new FilterError(`unexpected character at ${i}`);
  }
  out.push({ kind: "eof", value: "", pos: src.length, end: src.length });
  return out;
}
