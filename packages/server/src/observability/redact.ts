/** Query parameters whose values are credentials (file tokens, OAuth2 codes, API keys, signatures). */
const SECRET_PARAM =
  /^(token|access_token|refresh_token|id_token|code|password|secret|api_?key|key|signature|sig)$/i;

/** Object keys whose values are credentials wherever they appear in logged data. */
const SECRET_KEY =
  /pass(word)?|token|secret|authorization|cookie|api_?key|signature|^code$|^otp$|private_?key/i;

/** What a redacted value is replaced with. */
export const REDACTED = "[redacted]";

/**
 * A request URL (path and query) with the values of credential-like query parameters replaced, e.g.
 * `/api/files/c/r/a.png?token=[redacted]`. Decoded for reading, as PocketBase's log message is.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return url;
  const query = url.slice(q + 1);
  if (query === "") return url;
  const parts = query.split("&").map((pair) => {
    const eq = pair.indexOf("=");
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    let key = rawKey;
    try {
      key = decodeURIComponent(rawKey.replace(/\+/g, " "));
    } catch {
      // an undecodable key is judged as written
    }
    return eq >= 0 && SECRET_PARAM.test(key) ? `${rawKey}=${REDACTED}` : pair;
  });
  return `${url.slice(0, q)}?${parts.join("&")}`;
}

/**
 * A copy of logged data with credential-like keys' values replaced, recursing into plain objects and arrays
 * (at most `depth` levels; deeper values are dropped).
 */
export function redactData(value: unknown, depth = 8): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth <= 0) return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redactData(v, depth - 1));
  if (value instanceof Error) return { message: value.message, name: value.name };
  if (value instanceof Date) return value.toISOString();
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === "__proto__") continue;
    out[k] =
      SECRET_KEY.test(k) && v !== "" && v !== null && v !== undefined ? REDACTED : redactData(v, depth - 1);
  }
  return out;
}
