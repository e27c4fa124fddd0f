/** How deeply JSON input may nest (PocketBase's Go decoder stops at 10,000; Node's recursion is shallower). */
export const MAX_INPUT_DEPTH = 1000;

/** What is wrong with a decoded input value: nested too deep, or a string no store keeps as sent. */
export type InputProblem = "too_deep" | "bad_text";

// NUL (PostgreSQL text cannot hold it) and UTF-16 surrogates without their pair (SQLite would store U+FFFD).
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
function badText(s: string): boolean {
  return s.includes("\u0000") || LONE_SURROGATE.test(s);
}

/**
 * Walks a decoded body or query without recursion and returns its first problem, or null. Strings with NUL
 * or lone surrogates are refused rather than stored altered, so a value read back equals the value sent.
 */
export function findInputProblem(value: unknown, maxDepth = MAX_INPUT_DEPTH): InputProblem | null {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v === "string") {
      if (badText(v)) return "bad_text";
      continue;
    }
    if (typeof v !== "object" || v === null) continue;
    if (depth >= maxDepth) return "too_deep";
    if (Array.isArray(v)) {
      for (const item of v) stack.push([item, depth + 1]);
      continue;
    }
    // decoded JSON and query strings are plain (or prototype-less) objects; class instances such as
    // uploaded files and buffers are not walked
    const ctor = (Object.getPrototypeOf(v) as { constructor?: unknown } | null)?.constructor;
    if (ctor !== undefined && ctor !== Object) continue;
    for (const [k, item] of Object.entries(v)) {
      if (badText(k)) return "bad_text";
      stack.push([item, depth + 1]);
    }
  }
  return null;
}
