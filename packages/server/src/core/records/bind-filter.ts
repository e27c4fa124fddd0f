import { badRequest } from "../../errors/index.js";

/** A value a filter placeholder may take. */
export type FilterParam = string | number | boolean | null | Date;

function literal(name: string, value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw badRequest(`The filter parameter "${name}" is not a finite number.`);
    return String(value);
  }
  let text: string;
  if (value instanceof Date) text = value.toISOString().replace("T", " ");
  else if (typeof value === "string") text = value;
  else throw badRequest(`The filter parameter "${name}" must be a string, number, boolean, date or null.`);
  // The filter lexer ends a quoted text at a quote not preceded by a backslash, so a trailing backslash
  // would swallow the closing quote; no escape can express it, so it is refused.
  if (text.endsWith("\\")) throw badRequest(`The filter parameter "${name}" may not end with a backslash.`);
  return `'${text.replaceAll("'", "\\'")}'`;
}

/**
 * Replaces each `{:name}` placeholder of a filter with its parameter as a quoted literal, so values never
 * change the filter's shape (PocketBase's `pb.filter`). An unknown placeholder is an error.
 * @example bindFilter("status = {:s} && total > {:min}", { s: "paid", min: 10 })
 */
export function bindFilter(filter: string, params: Record<string, unknown> = {}): string {
  return filter.replace(/\{:(\w+)\}/g, (_m, name: string) => {
    if (!Object.hasOwn(params, name)) throw badRequest(`Missing filter parameter "${name}".`);
    return literal(name, params[name]);
  });
}
