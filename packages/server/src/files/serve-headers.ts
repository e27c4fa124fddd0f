import { baseMime } from "./sniff.js";
import type { ByteRange, StoredFileInfo } from "./storage.js";

/** Types a browser may render inline on the API's origin (PocketBase's list): passive media and PDF. */
const INLINE_TYPES = new Set([
  "image/png",
  "image/jpg",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "image/avif",
  "image/x-icon",
  "image/bmp",
  "video/webm",
  "video/mp4",
  "video/3gpp",
  "video/quicktime",
  "video/x-ms-wmv",
  "audio/basic",
  "audio/aiff",
  "audio/mpeg",
  "audio/midi",
  "audio/mp3",
  "audio/wave",
  "audio/wav",
  "audio/x-wav",
  "audio/x-mpeg",
  "audio/x-m4a",
  "audio/aac",
  "application/pdf",
  "application/x-pdf",
]);

/** Sandbox for anything served from storage, so even an attachment opened by hand runs no script. */
export const FILE_CSP = "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox";

/**
 * The response headers of a stored file: inline only for the passive types above (and never with
 * `download`), `attachment` for everything else (HTML, SVG, XML, scripts…), always `nosniff` and the sandbox
 * CSP; a validator pair (ETag, Last-Modified) and PocketBase's caching (private and unstored when protected).
 */
export function fileHeaders(
  name: string,
  info: StoredFileInfo,
  opts: { download: boolean; protected: boolean },
): Record<string, string> {
  const type = baseMime(info.contentType);
  const inline = !opts.download && INLINE_TYPES.has(type);
  const safeName = name.replace(/[^\w.\-+=#*]/g, "_");
  return {
    "content-type": info.contentType || "application/octet-stream",
    "content-disposition": `${inline ? "inline" : "attachment"}; filename="${safeName}"`,
    "x-content-type-options": "nosniff",
    "content-security-policy": FILE_CSP,
    "cache-control": opts.protected
      ? "private, no-cache, no-store, must-revalidate"
      : "max-age=2592000, stale-while-revalidate=86400",
    etag: etagOf(info),
    "last-modified": info.modified.toUTCString(),
    "accept-ranges": "bytes",
  };
}

/** A weak validator from the size and modification time (the same for every instance reading the object). */
export function etagOf(info: StoredFileInfo): string {
  return `W/"${info.size.toString(16)}-${Math.floor(info.modified.getTime() / 1000).toString(16)}"`;
}

/** Whether a conditional GET may answer 304 (If-None-Match first, then If-Modified-Since). */
export function notModified(
  headers: Record<string, string | string[] | undefined>,
  info: StoredFileInfo,
): boolean {
  const inm = headers["if-none-match"];
  if (typeof inm === "string") {
    const tag = etagOf(info);
    return inm.split(",").some((t) => t.trim() === "*" || t.trim() === tag || t.trim() === tag.slice(2));
  }
  const ims = headers["if-modified-since"];
  if (typeof ims === "string") {
    const since = Date.parse(ims);
    return Number.isFinite(since) && Math.floor(info.modified.getTime() / 1000) * 1000 <= since;
  }
  return false;
}

/**
 * The one byte range a `Range` header asks for: null to send the whole file (no header, several ranges, a
 * stale If-Range, or an unknown unit), "unsatisfiable" for a 416.
 */
export function requestedRange(
  headers: Record<string, string | string[] | undefined>,
  info: StoredFileInfo,
): ByteRange | null | "unsatisfiable" {
  const header = headers.range;
  if (typeof header !== "string") return null;
  const ifRange = headers["if-range"];
  if (typeof ifRange === "string" && ifRange !== etagOf(info) && ifRange !== info.modified.toUTCString()) {
    return null;
  }
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!m || (m[1] === "" && m[2] === "")) return null;
  const size = info.size;
  let start: number;
  let end: number;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) return "unsatisfiable";
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return "unsatisfiable";
  return { start, end };
}
