/** True for a plain JSON object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Keys that must never be copied from user input into objects (prototype pollution). */
export const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/** Returns own enumerable keys of a user-supplied object, skipping the prototype-polluting ones. */
export function safeKeys(value: Record<string, unknown>): string[] {
  return Object.keys(value).filter((k) => !FORBIDDEN_KEYS.has(k));
}
