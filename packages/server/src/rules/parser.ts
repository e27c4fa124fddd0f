import type { CompareOp, Comparison, FilterExpr, Operand } from "./ast.js";
import { FilterError } from "./errors.js";
import { type Token, tokenize } from "./lexer.js";

/** PocketBase's limits on a filter (tools/search/provider.go) and on function nesting (fexpr). */
export const FILTER_LIMITS = { maxLength: 3500, maxExpressions: 200, maxFunctionDepth: 3 } as const;

class Parser {
  private i = 0;
  private count = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.i];
  }

  private next(): Token {
    const t = this.tokens[this.i];
    if (t.kind !== "eof") this.i += 1;
    return t;
  }

  parse(): FilterExpr {
    if (this.peek().kind === "eof") throw new FilterError("empty filter expression");
    const expr = this.parseOr();
    if (this.peek().kind !== "eof") throw new FilterError(`unexpected token at ${this.peek().pos}`);
    return expr;
  }

  private parseOr(): FilterExpr {
    const items = [this.parseAnd()];
    while (this.peek().kind === "join" && this.peek().value === "||") {
      this.next();
      items.push(this.parseAnd());
    }
    return items.length === 1 ? items[0] : { kind: "or", items };
  }

  private parseAnd(): FilterExpr {
    const items = [this.parsePrimary()];
    while (this.peek().kind === "join" && this.peek().value === "&&") {
      this.next();
      items.push(this.parsePrimary());
    }
    return items.length === 1 ? items[0] : { kind: "and", items };
  }

  private parsePrimary(): FilterExpr {
    const t = this.peek();
    if (t.kind === "lparen") {
      this.next();
      if (this.peek().kind === "rparen") throw new FilterError("empty group");
      const inner = this.parseOr();
      if (this.next().kind !== "rparen") throw new FilterError("missing closing bracket");
      return inner;
    }
    const left = this.parseOperand(0);
    const sign = this.next();
    if (sign.kind !== "sign") throw new FilterError(`expected an operator at ${sign.pos}`);
    const right = this.parseOperand(0);
    this.count += 1;
    if (this.count > FILTER_LIMITS.maxExpressions) {
      throw new FilterError(`more than ${FILTER_LIMITS.maxExpressions} expressions`);
    }
    const any = sign.value.startsWith("?");
    const op = (any ? sign.value.slice(1) : sign.value) as CompareOp;
    const cmp: Comparison = { kind: "cmp", op, any, left, right };
    return cmp;
  }

  private parseOperand(depth: number): Operand {
    const t = this.next();
    switch (t.kind) {
      case "text":
        return { kind: "text", value: t.value };
      case "number":
        return { kind: "number", value: Number(t.value) };
      case "ident": {
        const paren = this.peek();
        if (paren.kind !== "lparen" || paren.pos !== t.end) return { kind: "ident", name: t.value };
        if (depth + 1 > FILTER_LIMITS.maxFunctionDepth)
          throw new FilterError("too deeply nested function calls");
        this.next();
        const args: Operand[] = [];
        if (this.peek().kind === "rparen") {
          this.next();
          return { kind: "call", name: t.value, args };
        }
        for (;;) {
          args.push(this.parseOperand(depth + 1));
          const sep = this.next();
          if (sep.kind === "rparen") break;
          if (sep.kind !== "comma") throw new FilterError(`expected "," or ")" at ${sep.pos}`);
        }
        return { kind: "call", name: t.value, args };
      }
      default:
        throw new FilterError(`expected an operand at ${t.pos}`);
    }
  }
}

/** Parses filter or rule text into an expression tree; throws FilterError (400) on bad syntax or limits. */
export function parseFilter(text: string): FilterExpr {
  if (text.length > FILTER_LIMITS.maxLength)
    throw new FilterError(`filter longer than ${FILTER_LIMITS.maxLength} characters`);
  return new Parser(tokenize(text)).parse();
}
