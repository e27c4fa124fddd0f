import { randomBytes } from "node:crypto";
import { formatDateTime, ID_ALPHABET } from "../util/index.js";
import type { LogRow } from "./logs-store.js";
import { redactData, redactUrl } from "./redact.js";

/**
 * An entry as it is queued: raw values, redacted and formatted when its batch is written. Request entries
 * are queued as one JSON array string (see `encodeRequestEntry`): a string is one allocation that the
 * writer thread receives by a plain copy, where an object per entry costs the request path its clone and
 * the garbage collector its promotion while the batch waits.
 */
export type QueuedEntry = PendingEntry | string;

/** An application (or decoded request) entry. */
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
 * Log entry ids: 15 characters of `[a-z0-9]` like record ids, the first 8 the entry's millisecond in base 36
 * and the other 7 random (from a pooled buffer: a `randomBytes` call per id costs more than the rest of the
 * entry). Ids that grow with time append to the primary-key index, where random ones dirty a different
 * index page for almost every row of a batch: that halved the writer's CPU per entry (bench/observability.mjs).
 */
export class IdPool {
  private pool = Buffer.alloc(0);
  private at = 0;

  /** A fresh id for an entry made at `time` (ms since the epoch). */
  next(time: number = Date.now()): string {
    // 8 base-36 digits hold every millisecond up to the year 2059; later ones take a 9th and the id grows
    let out = Math.max(0, Math.floor(time)).toString(36).padStart(8, "0");
    const length = out.length + 7;
    while (out.length < length) {
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

/** What the HTTP layer knows of a finished request; strings are taken as they are, redacted at flush time. */
export interface RequestLogInput {
  method: string;
  url: string;
  status: number;
  /** Milliseconds from the request's arrival to its answer. */
  execTime: number;
  referer: string;
  userAgent: string;
  /** The auth collection's name, or "" for a guest. */
  auth: string;
  authId: string;
  /** The id of the API key the request came with (issue 18), when it did. */
  apiKey?: string;
  userIP: string;
  remoteIP: string;
  error?: string;
  details?: unknown;
}

/**
 * A request entry as one string (a JSON array; what the settings leave out, and absent optional fields,
 * are `null`).
 */
export function encodeRequestEntry(
  f: RequestLogInput,
  time: number,
  level: number,
  settings: { readonly logIP: boolean; readonly logAuthId: boolean },
): string {
  const row = [
    time,
    level,
    f.method,
    f.url,
    f.status,
    f.execTime,
    f.referer,
    f.userAgent,
    f.auth,
    settings.logAuthId && f.auth ? f.authId : null,
    f.apiKey || null,
    settings.logIP ? f.userIP : null,
    settings.logIP ? f.remoteIP : null,
    f.error ?? null,
    f.error === undefined ? null : (f.details ?? {}),
  ];
  try {
    return JSON.stringify(row);
  } catch {
    // details a JSON text cannot hold (a BigInt, a cycle) are left out
    row[14] = {};
    return JSON.stringify(row);
  }
}

/** The entry an encoded request entry stands for, in PocketBase's request-log shape (`data.type = "request"`). */
export function decodeRequestEntry(text: string): PendingEntry {
  const r = JSON.parse(text) as unknown[];
  const data: Record<string, unknown> = {
    type: "request",
    execTime: r[5],
    url: r[3],
    method: r[2],
    status: r[4],
    referer: r[6],
    userAgent: r[7],
    auth: r[8],
  };
  if (r[13] !== null) {
    data.error = r[13];
    data.details = r[14] ?? {};
  }
  if (r[9] !== null) data.authId = r[9];
  if (r[10] !== null) data.apiKey = r[10];
  if (r[11] !== null) {
    data.userIP = r[11];
    data.remoteIP = r[12];
  }
  return { time: r[0] as number, level: r[1] as number, message: String(r[2]), data, request: true };
}

/**
 * The stored row of a queued entry: credential query values in the URL and referer redacted, lengths cut
 * as PocketBase does, the message `METHOD /decoded/url` for requests, credential-like attribute keys
 * redacted for application entries.
 */
export function prepareEntry(queued: QueuedEntry, ids: IdPool): LogRow {
  const p = typeof queued === "string" ? decodeRequestEntry(queued) : queued;
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
    id: ids.next(p.time),
    created: formatDateTime(new Date(p.time)),
    level: p.level,
    message: cut(message, 10_000),
    data: p.request ? data : (redactData(data) as Record<string, unknown>),
  };
}
