import { randomBytes } from "node:crypto";
import { formatDateTime, ID_ALPHABET } from "../util/index.js";
import type { LogRow } from "./logs-store.js";
import { redactData, redactUrl } from "./redact.js";

/** An entry as the request path queues it: raw values, redacted and formatted when its batch is written. */
export interface PendingEntry {
  time: number;
  level: number;
  message: string;
  data: Record<string, unknown>;
  /** A request entry (`data` in the request shape), else an application entry. */
  request: boolean;
}

const cut = (s: string, max: number) => (s.length > max ? s.slice(0, max) : s);

function decoded(url: string): string {
  if (!url.includes("%")) return url;
  try {
    return decodeURI(url);
  } catch {
    return url;
  }
}

/**
 * Log entry ids (15 characters of `[a-z0-9]`, as record ids) drawn from a pooled random buffer: one
 * `randomBytes` call serves hundreds of ids, where a call per id costs more than the rest of the entry.
 */
export class IdPool {
  private pool = Buffer.alloc(0);
  private at = 0;

  /** A fresh id. */
  next(): string {
    let out = "";
    while (out.length < 15) {
      if (this.at >= this.pool.length) {
        this.pool = randomBytes(4096);
        this.at = 0;
      }
      const b = this.pool[this.at++];
      // 252 = 7 × 36: bytes above it are skipped so every character is equally likely
      if (b < 252) out += ID_ALPHABET[b % 36];
    }
    return out;
  }
}

/**
 * The stored row of a queued entry: credential query values in the URL and referer redacted, lengths cut
 * as PocketBase does, the message `METHOD /decoded/url` for requests, credential-like attribute keys
 * redacted for application entries.
 */
export function prepareEntry(p: PendingEntry, ids: IdPool): LogRow {
  const data = p.data;
  let message = p.message;
  if (p.request) {
    const url = cut(redactUrl(String(data.url)), 3000);
    data.url = url;
    data.referer = cut(redactUrl(String(data.referer)), 2000);
    data.userAgent = cut(String(data.userAgent), 2000);
    if (data.details !== undefined) data.details = redactData(data.details);
    message = `${p.message} ${decoded(url)}`;
  }
  return {
    id: ids.next(),
    created: formatDateTime(new Date(p.time)),
    level: p.level,
    message: cut(message, 10_000),
    data: p.request ? data : (redactData(data) as Record<string, unknown>),
  };
}
