import { badRequest, fieldError } from "../errors/index.js";
import { isPlainObject } from "../util/index.js";

function numberLiteral(n: number): string {
  const s = String(n);
  if (!/e/i.test(s)) return s;
  if (Number.isInteger(n)) return BigInt(n).toString();
  return n.toFixed(100).replace(/\.?0+$/, "");
}

function paramError(name: string, message: string) {
  return badRequest("Invalid filter parameters.", {
    [name]: fieldError("validation_invalid_value", message),
  });
}

/**
 * The filter language literal of one bound value: text quoted so the lexer reads back exactly the value (a
 * quote the value holds is escaped; a value ending with a backslash cannot be written and is refused), numbers
 * in plain decimal, `true`/`false`/`null`. Anything else is refused.
 */
function literal(name: string, value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw paramError(name, "Must be a finite number.");
    return numberLiteral(value);
  }
  if (typeof value !== "string") throw paramError(name, "Must be a string, number, boolean or null.");
  if (value.endsWith("\\")) throw paramError(name, "A text parameter cannot end with a backslash.");
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  return `'${value.replaceAll("'", "\\'")}'`;
}

/**
 * Replaces each `{:name}` placeholder of a filter with its value from `params` as a literal (the server-side
 * counterpart of the SDK's `pb.filter`), so values from GraphQL variables never change the filter's structure.
 * Placeholders inside quoted text are left alone; a placeholder without a parameter is refused.
 */
export function bindFilterParams(filter: string, params: unknown): string {
  if (params === undefined || params === null) return filter;
  if (!isPlainObject(params)) {
    throw badRequest("Invalid filter parameters.", {
      params: fieldError("validation_invalid_value", "Must be an object of named values."),
    });
  }
  let out = "";
  let i = 0;
  while (i < filter.length) {
    const ch = filter[i];
    if (ch === "'" || ch === '"') {
      // copy quoted text as the lexer scans it: a quote ends it unless a backslash comes right before
      let j = i + 1;
      while (j < filter.length && !(filter[j] === ch && filter[j - 1] !== "\\")) j++;
      out += filter.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const m = ch === "{" ? /^\{:(\w+)\}/.exec(filter.slice(i, i + 260)) : null;
    if (m) {
      const name = m[1];
      if (!Object.hasOwn(params, name)) throw paramError(name, "Missing filter parameter.");
      out += literal(name, params[name]);
      i += m[0].length;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}
