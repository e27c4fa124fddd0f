import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import { randomString, settlesWithin } from "../util/index.js";
import type { RealtimeBus, RealtimeMessage } from "./bus.js";
import { OfflineQueue, throttledWarn } from "./offline-queue.js";

/** Options of the Redis bus. */
export interface RedisBusOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
  readonly url: string;
  /** Prefix of every key and channel Basalt uses, so several deployments (or test runs) share one Redis. */
  readonly prefix: string;
  readonly log: Logger;
  /** Messages kept while Redis is unreachable; past it the oldest are dropped (default 1,000). */
  readonly maxQueued?: number;
  /** How long a PUBLISH may take before it counts as failed, in milliseconds (default 1,000). */
  readonly commandTimeoutMs?: number;
}

/** The wire form of a message: the sending instance's id and the message. */
interface Envelope {
  readonly o: string;
  readonly m: RealtimeMessage;
}

const KINDS = new Set(["record", "direct", "control"]);

/** Connection options of the bus's two clients: reconnect forever with a capped backoff. */
function redisClientOptions(name: string, commandTimeoutMs: number): RedisOptions {
  return {
    connectionName: name,
    connectTimeout: 2_000,
    commandTimeout: commandTimeoutMs,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    lazyConnect: true,
  };
}

/**
 * The realtime bus on Redis pub/sub, for several instances (issue 6). A message is handed to this instance's
 * handlers at once (so local delivery survives a Redis outage) and published on `<prefix>realtime` for the
 * others; messages that come back from this instance are skipped. The publisher has a bounded offline queue
 * flushed on reconnect; the subscriber resubscribes after every reconnect and then raises a local
 * `reconnected` control message, since pub/sub delivers at most once and messages may have been missed.
 */
export class RedisBus implements RealtimeBus {
  /** This instance's id on the bus. */
  readonly instanceId = randomString(15);
  private handlers: ((message: RealtimeMessage) => void)[] = [];
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly channel: string;
  private readonly queue: OfflineQueue<string>;
  private subscriptions = 0;
  private closed = false;
  private readonly firstSubscribe: Promise<void>;
  private readonly warn: (err: unknown) => void;

  constructor(private readonly options: RedisBusOptions) {
    const timeout = options.commandTimeoutMs ?? 1_000;
    this.channel = `${options.prefix}realtime`;
    this.queue = new OfflineQueue(options.maxQueued ?? 1_000, options.log);
    this.warn = throttledWarn(options.log, "realtime bus: Redis error");
    // The publisher never queues inside ioredis (its queue is unbounded): this class keeps its own.
    this.pub = new Redis(options.url, {
      ...redisClientOptions("basalt-pub", timeout),
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
    });
    // The subscriber resubscribes itself on every ready, to know when it is listening again.
    this.sub = new Redis(options.url, {
      ...redisClientOptions("basalt-sub", timeout),
      autoResubscribe: false,
    });
    for (const client of [this.pub, this.sub]) client.on("error", (err) => this.reportError(err));
    this.pub.on("ready", () => void this.flush());
    this.sub.on("message", (channel: string, raw: string) => {
      if (channel === this.channel) this.receive(raw);
    });
    this.firstSubscribe = new Promise((resolve) => {
      this.sub.on("ready", () => {
        this.sub.subscribe(this.channel).then(
          () => {
            this.subscriptions++;
            resolve();
            if (this.subscriptions > 1) this.reconnected();
          },
          (err: unknown) => this.reportError(err),
        );
      });
    });
    this.sub.on("close", () => {
      if (!this.closed && this.subscriptions) options.log.warn("realtime bus: lost the Redis subscription");
    });
    this.pub.connect().catch(() => undefined);
    this.sub.connect().catch(() => undefined);
  }

  /** Resolves once the bus listens on Redis, or false after `timeoutMs` (it keeps trying in the background). */
  async waitUntilSubscribed(timeoutMs: number): Promise<boolean> {
    return settlesWithin(this.firstSubscribe, timeoutMs);
  }

  /** Messages waiting for the connection to come back. */
  get pending(): number {
    return this.queue.size;
  }

  async publish(message: RealtimeMessage): Promise<void> {
    this.deliver(message);
    if (this.closed) return;
    const raw = JSON.stringify({ o: this.instanceId, m: message } satisfies Envelope);
    if (this.queue.busy || this.pub.status !== "ready") {
      this.queue.push(raw);
      return this.flush();
    }
    try {
      await this.pub.publish(this.channel, raw);
    } catch (err) {
      // It may have gone out before the error: resending could deliver it twice, so it is dropped.
      this.reportError(err);
    }
  }

  subscribe(handler: (message: RealtimeMessage) => void): () => void {
    this.handlers.push(handler);
    return () => {
      this.handlers = this.handlers.filter((h) => h !== handler);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers = [];
    await Promise.all(
      [this.pub, this.sub].map(async (client) => {
        const quit =
          client.status === "ready" ? client.quit().catch(() => undefined) : Promise.resolve(undefined);
        await settlesWithin(quit, 500);
        client.disconnect();
      }),
    );
  }

  private deliver(message: RealtimeMessage): void {
    for (const h of [...this.handlers]) h(message);
  }

  private receive(raw: string): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(raw) as Envelope;
    } catch {
      return;
    }
    if (envelope?.o === this.instanceId || !KINDS.has(envelope?.m?.kind)) return;
    this.deliver(envelope.m);
  }

  /** Round-trips a PING to Redis (health checks); rejects when Redis does not answer. */
  async ping(): Promise<void> {
    await this.pub.ping();
  }

  private reconnected(): void {
    this.options.log.warn("realtime bus: resubscribed to Redis; reloading caches");
    this.deliver({ kind: "control", change: "reconnected", origin: this.instanceId });
  }

  /** Publishes the offline queue in order while the publisher is connected. */
  private flush(): Promise<void> {
    return this.queue.flush(
      () => this.pub.status === "ready" && !this.closed,
      (raw) => this.pub.publish(this.channel, raw),
      (err) => this.reportError(err),
    );
  }

  private reportError(err: unknown): void {
    if (!this.closed) this.warn(err);
  }
}
