import type { Logger } from "pino";
import type { RequestAuth } from "../auth/index.js";
import type { Collection, CollectionsService } from "../core/collections/index.js";
import type { RealtimeMessageEvent, RecordEnrichEvent } from "../core/events.js";
import type { Hook } from "../core/hook.js";
import type { RecordsService } from "../core/records/index.js";
import { randomString } from "../util/index.js";
import { LocalBus, type RealtimeBus, type RealtimeMessage, type RealtimeRecordMessage } from "./bus.js";
import { RealtimeClient, type RealtimeOutput } from "./client.js";
import { deliverRecordEvent } from "./deliver.js";
import { FrameFlusher } from "./flush.js";
import {
  DEFAULT_REALTIME_LIMITS,
  type RealtimeLimits,
  type RealtimeRefusal,
  RealtimeUsage,
} from "./limits.js";
import type { Topic } from "./topics.js";

/** Limits of the realtime broker. */
export interface RealtimeOptions extends RealtimeLimits {
  /** Unsent bytes a client may have before it is disconnected. */
  maxBufferBytes: number;
  /**
   * Unsent bytes of all clients together: each client may hold an equal share of it (at most
   * `maxBufferBytes`), so that many slow readers, or an instance that falls behind, cannot hold
   * `maxBufferBytes` times the number of clients.
   */
  maxBufferBytesTotal?: number;
  /** A client that receives nothing for this long is disconnected (the SDK reconnects). */
  idleTimeoutMs: number;
  /**
   * Frames for one client within this window are written together (one write per client and window
   * instead of one per event); a quiet stream is written at once. See FrameFlusher.
   */
  flushWindowMs?: number;
}

/** PocketBase's limits: 5 minutes idle; 1 MiB of unsent events per client; 64 MiB for all. */
export const DEFAULT_REALTIME_OPTIONS: RealtimeOptions = {
  ...DEFAULT_REALTIME_LIMITS,
  maxBufferBytes: 1 << 20,
  maxBufferBytesTotal: 64 << 20,
  idleTimeoutMs: 5 * 60_000,
};

/** The default write window (ms): up to this much delay, only while events arrive faster than it. */
const DEFAULT_FLUSH_WINDOW_MS = 20;

/** What the broker uses of the app. */
export interface BrokerDeps {
  /** `onRealtimeMessageSend`: runs around every message written to a client, when handlers are bound. */
  readonly messageHook?: Hook<RealtimeMessageEvent>;
  /** `onRecordEnrich`: when it has handlers for a collection, each reader's event payload is made apart. */
  readonly enrichHook?: Hook<RecordEnrichEvent>;
  readonly collections: CollectionsService;
  readonly records: RecordsService;
  readonly bus: RealtimeBus;
  readonly log: Logger;
  /**
   * Resolves once the caches are current with every bus message received so far (a collection reloaded after
   * another instance changed it), so a record event is never checked against a stale schema.
   */
  readonly ready?: () => Promise<void>;
}

/**
 * Holds this instance's SSE clients and delivers bus messages to them: for each client and each matching
 * subscription, the collection's list rule (`name/*`) or view rule (`name/id`) and the subscription's filter
 * are checked for that client's auth, and the record is serialised with its expand/fields options. Checks
 * and payloads are shared between clients asking the same question within one event.
 */
export class RealtimeBroker {
  private readonly clients = new Map<string, RealtimeClient>();
  private queue: Promise<void> = Promise.resolve();
  private readonly unsubscribe: () => void;
  private readonly sweeper: NodeJS.Timeout;
  private readonly usage: RealtimeUsage;
  private checks = 0;
  private droppedCount = 0;
  private readonly flusher: FrameFlusher;
  /** Unsent bytes each client may hold now: its share of the total, read by every client. */
  private readonly bufferShare = { bytes: 0 };

  constructor(
    private readonly deps: BrokerDeps,
    private readonly options: RealtimeOptions = DEFAULT_REALTIME_OPTIONS,
  ) {
    this.usage = new RealtimeUsage(options);
    this.flusher = new FrameFlusher(options.flushWindowMs ?? DEFAULT_FLUSH_WINDOW_MS);
    this.resizeBufferShare();
    this.unsubscribe = deps.bus.subscribe((message) => {
      // taken on arrival: the reloads triggered by earlier control messages
      const ready = deps.ready?.();
      // one message at a time, so each client sees events in commit order
      this.queue = this.queue
        .then(() => ready)
        .then(() => this.handle(message))
        .catch((err) => deps.log.error({ err }, "realtime delivery failed"));
    });
    // One sweep closes idle clients, instead of a timer per client reset on every event.
    this.sweeper = setInterval(
      () => this.closeIdle(),
      Math.min(10_000, Math.max(50, options.idleTimeoutMs / 4)),
    );
    this.sweeper.unref();
  }

  private resizeBufferShare(): void {
    const total = this.options.maxBufferBytesTotal ?? Number.POSITIVE_INFINITY;
    this.bufferShare.bytes = Math.min(
      this.options.maxBufferBytes,
      Math.floor(total / Math.max(1, this.clients.size)),
    );
  }

  private closeIdle(): void {
    const limit = Date.now() - this.options.idleTimeoutMs;
    for (const c of [...this.clients.values()]) if (c.lastActivity < limit) c.close();
  }

  /** True when the bus reaches other instances (Redis, PostgreSQL), false for this process only. */
  get sharedBus(): boolean {
    return !(this.deps.bus instanceof LocalBus);
  }

  /** Number of connected clients. */
  get size(): number {
    return this.clients.size;
  }

  /** Clients disconnected for exceeding a limit (unread buffer, check budget) since start. */
  get droppedClients(): number {
    return this.droppedCount;
  }

  /** Subscriptions held by the connected clients. */
  get subscriptionCount(): number {
    let n = 0;
    for (const c of this.clients.values()) n += c.subscriptions.size;
    return n;
  }

  /** The limits this broker enforces. */
  get limits(): RealtimeLimits {
    return this.options;
  }

  /** Rule/filter check queries run for record events since start (tests, metrics). */
  get checksRun(): number {
    return this.checks;
  }

  /** Streams and subscription bytes in use on this instance. */
  get usageTotals(): { clients: number; bytes: number; addresses: number } {
    return this.usage.totals;
  }

  /** Whether a new stream from `ip` fits the limits (null), or which limit refuses it. */
  canConnect(ip: string): RealtimeRefusal | null {
    return this.usage.canConnect(ip);
  }

  /**
   * Registers a new stream (after `canConnect`) and sends PB_CONNECT. Besides SSE responses, GraphQL
   * subscriptions connect their own outputs here, so they share the limits, checks and delivery.
   */
  connect(res: RealtimeOutput, ip: string): RealtimeClient {
    const id = randomString(40);
    const client = new RealtimeClient(id, ip, res, this.bufferShare, this.flusher, (c) => {
      this.clients.delete(c.id);
      this.resizeBufferShare();
      this.usage.disconnected(c.ip, c.subscriptionBytes);
      if (c.dropped) this.droppedCount++;
    });
    this.clients.set(id, client);
    this.resizeBufferShare();
    this.usage.connected(ip);
    void this.sendMessage(client, "PB_CONNECT", { clientId: id });
    return client;
  }

  /**
   * Writes one message to a client, through `onRealtimeMessageSend` when handlers are bound (they may change
   * the data, or not call `e.next()` to drop the message). `json` is the data already serialised.
   */
  async sendMessage(client: RealtimeClient, name: string, data: unknown, json?: string): Promise<boolean> {
    const hook = this.deps.messageHook;
    if (!hook?.length) return json === undefined ? client.send(name, data) : client.sendJson(name, json);
    let sent = false;
    const e = { clientId: client.id, name, data: json === undefined ? data : JSON.parse(json) };
    try {
      await hook.trigger(e, (ev) => {
        sent = client.send(name, ev.data);
      });
    } catch (err) {
      this.deps.log.error({ err, hook: hook.name }, "realtime message hook failed; message not sent");
    }
    return sent;
  }

  /** A connected client by id. */
  client(id: string): RealtimeClient | undefined {
    const c = this.clients.get(id);
    return c && !c.isClosed ? c : undefined;
  }

  /**
   * Whether `topics` may replace a client's subscriptions (null), or which limit refuses them: their total
   * length for the client, its address and the instance.
   */
  canSubscribe(client: RealtimeClient, topics: readonly Topic[]): RealtimeRefusal | null {
    const options = new Map<string, Set<string>>();
    for (const t of topics) {
      const keys = options.get(t.collection) ?? new Set<string>();
      options.set(t.collection, keys);
      keys.add(t.optionsKey);
      if (keys.size > this.options.maxOptionsPerCollection) return "options_per_collection";
    }
    return this.usage.canResize(client.ip, client.subscriptionBytes, topicBytes(topics));
  }

  /** Replaces a client's subscriptions and auth (after `canSubscribe`). */
  setSubscriptions(client: RealtimeClient, topics: Topic[], auth: RequestAuth | null): void {
    const bytes = topicBytes(topics);
    if (!client.isClosed) this.usage.resized(client.ip, client.subscriptionBytes, bytes);
    client.subscriptionBytes = bytes;
    client.subscriptions.clear();
    for (const t of topics) client.subscriptions.set(t.raw, t);
    client.subscriptionsChanged();
    client.auth = auth;
    client.keepAlive();
  }

  /**
   * Sends a message to one client's topic (the OAuth2 redirect result): directly when the client is connected
   * here, otherwise through a shared bus to the instance that holds it. False when it certainly reached no one
   * (the client is here but not subscribed, or it is not here and the bus is this process only).
   */
  async sendDirect(clientId: string, topic: string, data: unknown): Promise<boolean> {
    const local = this.client(clientId);
    if (local) return local.subscriptions.has(topic) && (await this.sendMessage(local, topic, data));
    if (!this.sharedBus) return false;
    // a bus that can tell (PostgreSQL) knows when no other instance is listening: then no one holds the client
    if (this.deps.bus.hasPeers && !(await this.deps.bus.hasPeers())) return false;
    await this.deps.bus.publish({ kind: "direct", clientId, topic, data });
    return true;
  }

  /** Waits until every message published so far has been delivered (tests, shutdown). */
  async drain(): Promise<void> {
    await this.queue;
    await this.flusher.flushed();
  }

  /** Closes every client stream and stops listening to the bus. */
  closeAll(): void {
    this.unsubscribe();
    clearInterval(this.sweeper);
    this.flusher.stop();
    for (const c of [...this.clients.values()]) c.close();
  }

  /**
   * The SSE resync signal after a shared-bus outage, when events may have been lost: every stream is closed,
   * the SDK reconnects and resubscribes, and its `PB_CONNECT` tells the application to refetch.
   */
  private resync(): void {
    if (!this.clients.size) return;
    this.deps.log.warn({ clients: this.clients.size }, "realtime bus reconnected: asking clients to resync");
    for (const c of [...this.clients.values()]) c.close();
  }

  private async handle(message: RealtimeMessage): Promise<void> {
    if (message.kind === "control") {
      if (message.change === "reconnected") this.resync();
      return;
    }
    if (message.kind === "direct") {
      const c = this.client(message.clientId);
      if (c?.subscriptions.has(message.topic)) await this.sendMessage(c, message.topic, message.data);
      return;
    }
    const collection = this.deps.collections.find(message.collectionId);
    if (!collection) return;
    if (collection.type === "auth") this.refreshClientAuth(collection, message);
    if (!this.clients.size) return;
    await this.deliverRecord(collection, message);
  }

  /** Keeps subscribers' auth current: a changed token key or a deleted record signs the client out. */
  private refreshClientAuth(collection: Collection, message: RealtimeRecordMessage): void {
    const id = String(message.record.id);
    for (const c of this.clients.values()) {
      const a = c.auth;
      if (!a || a.collection.id !== collection.id || String(a.record.id) !== id) continue;
      if (message.action === "delete" || message.record.tokenKey !== a.record.tokenKey) c.auth = null;
      else c.auth = { ...a, collection: collection as RequestAuth["collection"], record: message.record };
    }
  }

  private authFor(client: RealtimeClient): RequestAuth | null {
    const a = client.auth;
    if (a && a.claims.exp * 1000 <= Date.now()) {
      client.auth = null;
      return null;
    }
    return a;
  }

  private async deliverRecord(collection: Collection, message: RealtimeRecordMessage): Promise<void> {
    this.checks += await deliverRecordEvent(
      {
        records: this.deps.records,
        log: this.deps.log,
        authFor: (c) => this.authFor(c),
        // without a message hook a write is synchronous: no promise per client on a large fan-out
        send: (c, name, payload) =>
          this.deps.messageHook?.length
            ? this.sendMessage(c, name, payload.data, payload.json)
            : c.sendBody(name, payload.body),
        maxChecks: this.options.maxChecksPerEvent,
        enrichDependsOnAuth: (c) => this.deps.enrichHook?.hasFor(c) ?? false,
      },
      [...this.clients.values()],
      collection,
      message,
    );
  }
}

/** The length counted against the subscription limits: the subscription strings as sent. */
function topicBytes(topics: readonly Topic[]): number {
  let n = 0;
  for (const t of topics) n += t.raw.length;
  return n;
}
