import type { RealtimeMessage } from "./bus.js";

/** The wire form of a message: the sending instance's id and the message. */
interface Envelope {
  readonly o: string;
  readonly m: RealtimeMessage;
}

/** A message being reassembled from its chunks. */
interface Pending {
  readonly parts: (string | undefined)[];
  got: number;
  readonly since: number;
}

const KINDS = new Set(["record", "direct", "control"]);
/** NOTIFY refuses payloads of 8,000 bytes or more (the default build); a margin is kept for the header. */
const MAX_PAYLOAD_BYTES = 7_900;
const CHUNK_BYTES = 7_800;
/** Incomplete messages are forgotten after this long, and at most this many are kept. */
const PENDING_MS = 30_000;
const MAX_PENDING = 256;

/** Splits UTF-8 text into slices of at most `max` bytes, never inside a character. */
function splitUtf8(text: string, max: number): string[] {
  const bytes = Buffer.from(text, "utf8");
  const out: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + max, bytes.length);
    // back off continuation bytes (10xxxxxx) so a multi-byte character stays whole
    while (end < bytes.length && (bytes[end] & 0xc0) === 0x80) end--;
    out.push(bytes.subarray(start, end).toString("utf8"));
    start = end;
  }
  return out;
}

/**
 * Encodes realtime messages as NOTIFY payloads and decodes them back (issue 6). A message that fits is one
 * JSON payload `{"o":<instance>,"m":<message>}`; a larger one becomes chunks `~<instance>:<seq>:<i>:<n>:<text>`
 * that the receiver joins once all `n` arrived. Messages of this instance are recognised and skipped.
 */
export class NotifyChunker {
  private seq = 0;
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly instanceId: string) {}

  /** The payloads that carry one message, in order. */
  encode(message: RealtimeMessage): string[] {
    const whole = JSON.stringify({ o: this.instanceId, m: message } satisfies Envelope);
    if (Buffer.byteLength(whole) <= MAX_PAYLOAD_BYTES) return [whole];
    const id = `${this.instanceId}:${(this.seq++).toString(36)}`;
    const parts = splitUtf8(whole, CHUNK_BYTES);
    return parts.map((part, i) => `~${id}:${i}:${parts.length}:${part}`);
  }

  /** The message a payload completes, or undefined (a chunk of an unfinished message, an own or bad one). */
  decode(payload: string): RealtimeMessage | undefined {
    if (!payload.startsWith("~")) return this.open(payload);
    const m = /^~([^:]+):([^:]+):(\d+):(\d+):/.exec(payload);
    if (!m || m[1] === this.instanceId) return undefined;
    const index = Number(m[3]);
    const count = Number(m[4]);
    if (count < 1 || index >= count) return undefined;
    const key = `${m[1]}:${m[2]}`;
    const now = Date.now();
    this.evict(now);
    let entry = this.pending.get(key);
    if (!entry) {
      entry = { parts: new Array(count).fill(undefined), got: 0, since: now };
      this.pending.set(key, entry);
    }
    if (entry.parts.length !== count || entry.parts[index] !== undefined) return undefined;
    entry.parts[index] = payload.slice(m[0].length);
    if (++entry.got < count) return undefined;
    this.pending.delete(key);
    return this.open(entry.parts.join(""));
  }

  private open(raw: string): RealtimeMessage | undefined {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(raw) as Envelope;
    } catch {
      return undefined;
    }
    if (envelope?.o === this.instanceId || !KINDS.has(envelope?.m?.kind)) return undefined;
    return envelope.m;
  }

  private evict(now: number): void {
    for (const [key, entry] of this.pending) {
      if (now - entry.since < PENDING_MS && this.pending.size < MAX_PENDING) break;
      this.pending.delete(key);
    }
  }
}
