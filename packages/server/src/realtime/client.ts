import type { RequestAuth } from "../auth/index.js";
import type { FrameFlusher } from "./flush.js";
import type { Topic } from "./topics.js";

/**
 * Where a client's events go: an SSE response (`ServerResponse` fits), or an in-process consumer such as a
 * GraphQL subscription, which writes the same frames to its own stream.
 */
export interface RealtimeOutput {
  /** Bytes written but not yet sent (a slow reader past the limit is disconnected). */
  readonly writableLength: number;
  readonly writableEnded: boolean;
  write(chunk: string | Uint8Array): unknown;
  end(): void;
  destroy(): void;
  on(event: "close", listener: () => void): unknown;
}

/** One connected SSE client: its stream, its subscriptions and the auth it subscribed with. */
export class RealtimeClient {
  readonly subscriptions = new Map<string, Topic>();
  auth: RequestAuth | null = null;
  /** Total length of the subscription strings, counted against the realtime limits. */
  subscriptionBytes = 0;
  /** When the client last received an event or changed its subscriptions (ms since epoch). */
  lastActivity = Date.now();
  private closed = false;
  /** True when the server disconnected the client for exceeding a limit (not for leaving). */
  dropped = false;
  /**
   * Frames accepted but not yet written, as buffers (heads and shared bodies) in the first `pendingCount`
   * slots; the flusher joins them. The array is kept and its slots cleared after each write, rather than a
   * new array per window: on a large fan-out those arrays lived just long enough to be promoted, and were
   * most of the old-generation garbage that raised the peak RSS (issue 19).
   */
  private readonly pending: (Buffer | undefined)[] = [];
  private pendingCount = 0;
  private pendingBytes = 0;
  /** `id:<client>\nevent:<name>\ndata:` per subscription name, made once rather than per event. */
  private readonly heads = new Map<string, Buffer>();

  constructor(
    readonly id: string,
    readonly ip: string,
    private readonly res: RealtimeOutput,
    /** The unsent bytes this client may hold, shared with the broker (it shrinks as clients connect). */
    private readonly bufferLimit: { readonly bytes: number },
    private readonly flusher: FrameFlusher,
    private readonly onClose: (client: RealtimeClient) => void,
  ) {
    res.on("close", () => this.close());
  }

  /** True once the stream has ended. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Writes one event, serialising `data`. */
  send(event: string, data: unknown): boolean {
    return this.sendJson(event, JSON.stringify(data));
  }

  /** Writes one event whose data is already JSON text. */
  sendJson(event: string, json: string): boolean {
    return this.sendBody(event, Buffer.from(`${json}\n\n`));
  }

  /**
   * Queues one event whose body (the JSON data and the blank line ending the frame) is shared by every
   * client of the same payload; the flusher writes it with the others of its window. A client that does not
   * read (its unsent bytes, queued or in the stream, pass the limit) is disconnected, so a slow or dead
   * client cannot grow the server's memory without bound; the SDK reconnects by itself.
   */
  sendBody(event: string, body: Buffer): boolean {
    if (this.closed) return false;
    if (this.res.writableLength + this.pendingBytes > this.bufferLimit.bytes) {
      this.drop();
      return false;
    }
    const head = this.head(event);
    if (!this.pendingCount) this.flusher.queue(this);
    this.pending[this.pendingCount++] = head;
    this.pending[this.pendingCount++] = body;
    this.pendingBytes += head.length + body.length;
    this.lastActivity = Date.now();
    return true;
  }

  /** The frame head for an event name, cached for the names of current subscriptions. */
  private head(event: string): Buffer {
    let head = this.heads.get(event);
    if (!head) {
      head = Buffer.from(`id:${this.id}\nevent:${event}\ndata:`);
      if (this.subscriptions.has(event)) this.heads.set(event, head);
    }
    return head;
  }

  /** Forgets the cached frame heads (the subscriptions changed). */
  subscriptionsChanged(): void {
    this.heads.clear();
  }

  /** Writes the queued frames as one chunk (called by the flusher). */
  flush(): void {
    if (this.closed || !this.pendingCount) return;
    const chunk = Buffer.allocUnsafe(this.pendingBytes);
    let at = 0;
    for (let i = 0; i < this.pendingCount; i++) {
      const part = this.pending[i] as Buffer;
      chunk.set(part, at);
      at += part.length;
      this.pending[i] = undefined;
    }
    this.pendingCount = 0;
    this.pendingBytes = 0;
    this.res.write(chunk);
  }

  /** Marks activity that keeps the connection open (a subscription change). */
  keepAlive(): void {
    this.lastActivity = Date.now();
  }

  /** Disconnects the client for exceeding a limit (counted in the metrics); the SDK reconnects. */
  drop(): void {
    if (this.closed) return;
    this.dropped = true;
    this.close();
  }

  /** Ends the stream and unregisters the client. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending.length = 0;
    this.pendingCount = 0;
    this.pendingBytes = 0;
    if (!this.res.writableEnded) this.res.end();
    this.res.destroy();
    this.onClose(this);
  }
}
