import type { RequestAuth } from "../auth/index.js";
import type { Collection } from "../core/collections/index.js";
import { badRequest, tooManyRequests } from "../errors/index.js";
import { parseTopic, type RealtimeBroker, type RealtimeOutput } from "../realtime/index.js";
import type { RecordChange } from "./resolvers.js";

/**
 * A realtime client's output read in process: the broker writes SSE frames as it would to a browser, and
 * the GraphQL subscription reads each record event back. Bytes not yet read count as unsent, so a consumer
 * that stops reading is disconnected by the broker's buffer limit like any slow SSE client.
 */
class FrameOutput implements RealtimeOutput {
  private readonly queue: string[] = [];
  private queued = 0;
  private waiting: ((r: IteratorResult<RecordChange>) => void) | null = null;
  private readonly closeListeners: (() => void)[] = [];
  writableEnded = false;

  get writableLength(): number {
    return this.queued;
  }

  /** Takes a chunk of one or more frames (the broker writes the frames of one window together). */
  write(chunk: string | Uint8Array): boolean {
    if (this.writableEnded) return false;
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    for (const frame of text.split("\n\n")) {
      if (!frame) continue;
      if (this.waiting) {
        const change = parseFrame(frame);
        if (!change) continue;
        const w = this.waiting;
        this.waiting = null;
        w({ value: change, done: false });
        continue;
      }
      this.queue.push(frame);
      this.queued += frame.length;
    }
    return true;
  }

  end(): void {
    this.writableEnded = true;
    const w = this.waiting;
    this.waiting = null;
    w?.({ value: undefined, done: true });
  }

  destroy(): void {
    this.end();
    for (const l of this.closeListeners.splice(0)) l();
  }

  on(_event: "close", listener: () => void): this {
    this.closeListeners.push(listener);
    return this;
  }

  next(): Promise<IteratorResult<RecordChange>> {
    while (this.queue.length) {
      const chunk = this.queue.shift() as string;
      this.queued -= chunk.length;
      const change = parseFrame(chunk);
      if (change) return Promise.resolve({ value: change, done: false });
    }
    if (this.writableEnded) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }
}

/** The record event of one SSE frame (`PB_CONNECT` and anything else yield null). */
function parseFrame(chunk: string): RecordChange | null {
  const event = /^event:(.*)$/m.exec(chunk)?.[1];
  const data = /^data:(.*)$/m.exec(chunk)?.[1];
  if (!event || event === "PB_CONNECT" || data === undefined) return null;
  try {
    const parsed = JSON.parse(data) as RecordChange;
    return typeof parsed.action === "string" && parsed.record ? parsed : null;
  } catch {
    return null;
  }
}

/**
 * Subscribes a caller to a collection's record changes (or one record's, with `recordId`) through the
 * realtime broker, as a `/api/realtime` client subscribed to `collection/recordId` with this filter: the same
 * connection limits, the same per-event rule checks (list rule for `*`, view rule for one record) and the same
 * record JSON. The stream ends when the consumer returns, or when the broker drops the client.
 */
export function recordChanges(
  broker: RealtimeBroker,
  ip: string,
  auth: RequestAuth | null,
  collection: Collection,
  recordId: string,
  filter: string,
): AsyncIterableIterator<RecordChange> {
  if (broker.canConnect(ip)) throw tooManyRequests("Too many realtime connections. Try again later.");
  const options = filter ? `?options=${encodeURIComponent(JSON.stringify({ query: { filter } }))}` : "";
  const topic = parseTopic(`${collection.name}/${recordId}${options}`);
  if (!topic) throw badRequest("Invalid subscription.");
  const output = new FrameOutput();
  const client = broker.connect(output, ip);
  const refused = broker.canSubscribe(client, [topic]);
  if (refused) {
    client.close();
    throw tooManyRequests("Too many realtime subscriptions. Try again later.");
  }
  broker.setSubscriptions(client, [topic], auth);
  const iterator: AsyncIterableIterator<RecordChange> = {
    next: () => output.next(),
    return: async () => {
      client.close();
      return { value: undefined, done: true };
    },
    throw: async (err) => {
      client.close();
      throw err;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
