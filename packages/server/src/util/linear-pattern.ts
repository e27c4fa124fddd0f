import { RE2JS } from "re2js";

/** A compiled field pattern: matching time grows linearly with the input, whatever the pattern. */
export interface LinearPattern {
  /** True when the pattern matches somewhere in `text` (anchors as written, like PocketBase's). */
  test(text: string): boolean;
}

/**
 * Compiles a field `pattern` with RE2's syntax and guarantees, as PocketBase's Go `regexp` does (issue 10:
 * `^(\w+\s?)+$` made JavaScript's backtracking engine run for minutes on a guest's input). Throws for
 * patterns RE2 cannot run (look-arounds, back-references).
 */
export function compileLinearPattern(pattern: string): LinearPattern {
  const re = RE2JS.compile(pattern);
  return { test: (text) => re.test(text) };
}
