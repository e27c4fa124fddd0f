import type { FastifyInstance } from "fastify";
import { ApiError } from "../errors/index.js";
import { FORBIDDEN_KEYS } from "../util/index.js";

/** The text parts of a multipart/form-data body, by name; file parts are skipped (uploads come with the files issue). */
export function parseMultipartFields(body: Buffer, boundary: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const delimiter = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delimiter);
  while (pos >= 0) {
    const start = pos + delimiter.length;
    if (body.subarray(start, start + 2).toString() === "--") break;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    const part = body.subarray(start + 2, next - 2); // skip CRLF after the delimiter and before the next one
    const headerEnd = part.indexOf("\r\n\r\n");
    if (headerEnd >= 0) {
      const headers = part.subarray(0, headerEnd).toString("utf8");
      const name = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(headers)?.[1];
      const isFile = /content-disposition:[^\r\n]*\bfilename=/i.test(headers);
      if (name !== undefined && !isFile && !FORBIDDEN_KEYS.has(name)) {
        const list = out[name] ?? [];
        list.push(part.subarray(headerEnd + 4).toString("utf8"));
        out[name] = list;
      }
    }
    pos = next;
  }
  return out;
}

/**
 * Accepts multipart/form-data bodies as PocketBase does for their regular fields: every text part becomes a
 * key (repeated parts a list), and `@jsonPayload` holds JSON merged over them (what the SDK sends for batch
 * requests and records with files).
 */
export function registerMultipartFields(server: FastifyInstance): void {
  server.addContentTypeParser("multipart/form-data", { parseAs: "buffer" }, (request, body, done) => {
    const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(String(request.headers["content-type"]));
    if (!boundary)
      return done(new ApiError(400, "Failed to load the submitted data due to invalid formatting."));
    const fields = parseMultipartFields(body as Buffer, (boundary[1] ?? boundary[2]).trim());
    const result: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields))
      if (k !== "@jsonPayload") result[k] = v.length === 1 ? v[0] : v;
    for (const payload of fields["@jsonPayload"] ?? []) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(payload, (key, value) => (FORBIDDEN_KEYS.has(key) ? undefined : value));
      } catch {
        return done(new ApiError(400, "Failed to load the submitted data due to invalid formatting."));
      }
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
        Object.assign(result, parsed);
    }
    done(null, result);
  });
}
