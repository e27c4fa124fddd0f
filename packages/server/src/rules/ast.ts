/** A comparison operator of the filter language, without the `?` any-of prefix. */
export type CompareOp = "=" | "!=" | ">" | ">=" | "<" | "<=" | "~" | "!~";

/** An operand: a field path or macro, a quoted text, a number, or a function call. */
export type Operand =
  | { readonly kind: "ident"; readonly name: string }
  | { readonly kind: "text"; readonly value: string }
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "call"; readonly name: string; readonly args: readonly Operand[] };

/** `left op right`; `any` is the `?` prefix (at least one value must match). */
export interface Comparison {
  readonly kind: "cmp";
  readonly op: CompareOp;
  readonly any: boolean;
  readonly left: Operand;
  readonly right: Operand;
}

/** `&&` / `||` over two or more expressions. */
export interface Logical {
  readonly kind: "and" | "or";
  readonly items: readonly FilterExpr[];
}

/** A parsed filter expression (an immutable tree). */
export type FilterExpr = Comparison | Logical;
