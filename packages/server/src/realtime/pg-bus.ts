import type pg from "pg";
import type { Logger } from "pino";
import { lazyImport, randomString, settlesWithin } from "../util/index.js";
import type { RealtimeBus, RealtimeMessage } from "./bus.js";
import { OfflineQueue, throttledWarn } from "./offline-queue.js";
import { NotifyChunker } from "./pg-bus-chunks.js";

// node-postgres is loaded only by an instance on PostgreSQL, not at start-up (issue 19: memory)
const loadPg = lazyImport("pg", "the PostgreSQL realtime bus", () => import("pg"));

/** Options of the PostgreSQL LISTEN/NOTIFY bus. */
export interface PgBusOptions {
  /** The `postgres://` URL of the database the instances share (notifications stay within one database). */
  readonly url: string;
  /** Prefix of the channel name (`<prefix>realtime`), so several deployments can share one database. */
  readonly prefix: string;
  readonly log: Logger;
  /** Messages kept while PostgreSQL is unreachable; past it the oldest are dropped (default 1,000). */
  readonly maxQueued?: number;
  /** How long a NOTIFY may take before the connection counts as broken, in milliseconds (default 2,000). */
  readonly commandTimeoutMs?: number;
}

/**
 * The realtime bus on PostgreSQL LISTEN/NOTIFY, used when the instances share PostgreSQL and no Redis
 * (issue 6). It behaves as RedisBus does: a message is handed to this instance's handlers at once and sent
 * with `pg_notify` on one dedicated connection that also LISTENs; messages from this instance are skipped.
 * A message over NOTIFY's 8,000-byte payload limit is split into chunks sent in one statement (so in one
 * transaction: all or none arrive) and reassembled by the receivers. The connection is reopened with a capped
 * backoff; while it is down a bounded queue keeps outgoing messages, and after a reconnect a local
 * `reconnected` control message asks for a full reload and an SSE resync, since notifications sent while an
 * instance was not listening are lost.
 */
export class PgBus implements RealtimeBus {
  /** This instance's id on the bus. */
  readonly instanceId = randomString(15);
  private handlers: ((message: RealtimeMessage) => void)[] = [];
  private readonly channel: string;
  private readonly chunker: NotifyChunker;
  private client: pg.Client | undefined;
  private readonly queue: OfflineQueue<string[]>;
  private listens = 0;
  private attempts = 0;
  private closed = false;
  private readonly warn: (err: unknown) => void;
  private retryTimer: NodeJS.Timeout | undefined;
  private sending: Promise<unknown> = Promise.resolve();
  private readonly appName: string;
  private readonly firstListen: Promise<void>;
  private listening!: () => void;

  constructor(private readonly options: PgBusOptions) {
    this.channel = `${options.prefix}realtime`;
    if (Buffer.byteLength(this.channel) > 63)
      throw new Error(`the realtime channel name "${this.channel}" is longer than PostgreSQL's 63 bytes`);
    this.appName = `basalt-bus ${this.channel}`.slice(0, 63);
    this.queue = new OfflineQueue(options.maxQueued ?? 1_000, options.log);
    this.warn = throttledWarn(options.log, "realtime bus: PostgreSQL error");
    this.chunker = new NotifyChunker(this.instanceId);
    this.firstListen = new Promise((resolve) => {
      this.listening = resolve;
    });
    void this.connect();
  }

  /** Resolves once the bus listens, or false after `timeoutMs` (it keeps trying in the background). */
  async waitUntilListening(timeoutMs: number): Promise<boolean> {
    return settlesWithin(this.firstListen, timeoutMs);
  }

  /** Messages waiting for the connection to come back. */
  get pending(): number {
    return this.queue.size;
  }

  async publish(message: RealtimeMessage): Promise<void> {
    this.deliver(message);
    if (this.closed) return;
    const payloads = this.chunker.encode(message);
    if (this.queue.busy || !this.client) {
      this.queue.push(payloads);
      return this.flush();
    }
    try {
      await this.notify(this.client, payloads);
    } catch (err) {
      // It may have been committed before the error: resending could deliver it twice, so it is dropped.
      this.broken(err);
    }
  }

  /**
   * Whether another instance listens on this bus now (its bus connection is in `pg_stat_activity`), so a
   * realtime client unknown here may be held there; true when that cannot be told (the connection is down).
   */
  async hasPeers(): Promise<boolean> {
    const client = this.client;
    if (!client) return true;
    try {
      const res = await client.query(
        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid() LIMIT 1",
        [this.appName],
      );
      return (res.rowCount ?? 0) > 0;
    } catch {
      return true;
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
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    const ended = client.end().catch(() => undefined);
    await settlesWithin(ended, 500);
  }

  /** Opens the connection and LISTENs; on failure tries again after a capped backoff. */
  private async connect(): Promise<void> {
    if (this.closed) return;
    let Client: typeof pg.Client;
    try {
      Client = (await loadPg()).default.Client;
    } catch (err) {
      this.reportError(err);
      return;
    }
    if (this.closed) return;
    const client = new Client({
      connectionString: this.options.url,
      connectionTimeoutMillis: 2_000,
      query_timeout: this.options.commandTimeoutMs ?? 2_000,
      keepAlive: true,
      application_name: this.appName,
    });
    client.on("error", (err) => this.broken(err, client));
    client.on("end", () => this.broken(new Error("the bus connection ended"), client));
    client.on("notification", (n) => {
      if (n.channel === this.channel && n.payload !== undefined) this.receive(n.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(this.channel)}`);
    } catch (err) {
      this.broken(err, client);
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.attempts = 0;
    this.listens++;
    this.listening();
    if (this.listens > 1) {
      this.options.log.warn("realtime bus: listening on PostgreSQL again; reloading caches");
      this.deliver({ kind: "control", change: "reconnected", origin: this.instanceId });
    }
    void this.flush();
  }

  /** Drops a failed connection (once) and schedules a new one. */
  private broken(err: unknown, client: pg.Client | undefined = this.client): void {
    this.reportError(err);
    if (!client || (client as { basaltBroken?: boolean }).basaltBroken) return;
    (client as { basaltBroken?: boolean }).basaltBroken = true;
    if (this.client === client) this.client = undefined;
    client.removeAllListeners("notification");
    client.end().catch(() => undefined);
    if (this.closed) return;
    const delay = Math.min(50 * 2 ** Math.min(this.attempts++, 6), 2_000);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  /** Sends one message's payloads after the ones before it (one query at a time on the connection). */
  private notify(client: pg.Client, payloads: string[]): Promise<unknown> {
    // one statement, so one transaction: the chunks of a message arrive together or not at all
    const sent = this.sending.then(() =>
      client.query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS t(p)", [this.channel, payloads]),
    );
    this.sending = sent.catch(() => undefined);
    return sent;
  }

  private deliver(message: RealtimeMessage): void {
    for (const h of [...this.handlers]) h(message);
  }

  private receive(payload: string): void {
    const message = this.chunker.decode(payload);
    if (message) this.deliver(message);
  }

  /** Sends the offline queue in order while the connection is up. */
  private flush(): Promise<void> {
    return this.queue.flush(
      () => this.client !== undefined && !this.closed,
      (payloads) => this.notify(this.client!, payloads),
      (err) => this.broken(err),
    );
  }

  private reportError(err: unknown): void {
    if (!this.closed) this.warn(err);
  }
}
