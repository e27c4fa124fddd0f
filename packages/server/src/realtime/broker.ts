import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { RequestAuth } from "../auth/index.js";
import type { Collection, CollectionsService } from "../core/collections/index.js";
import type { RecordRequest, RecordsService } from "../core/records/index.js";
import { randomString } from "../util/index.js";
import { subscriberCanSee } from "./access.js";
import { LocalBus, type RealtimeBus, type RealtimeMessage, type RealtimeRecordMessage } from "./bus.js";
import { RealtimeClient } from "./client.js";
import type { Topic } from "./topics.js";

/** Limits of the realtime broker. */
export interface RealtimeOptions {
  /** Unsent bytes a client may have before it is disconnected. */
  maxBufferBytes: number;
  /** A client that receives nothing for this long is disconnected (the SDK reconnects). */
  idleTimeoutMs: number;
}

/** PocketBase's limits: 5 minutes idle; 1 MiB of unsent events per client. */
export const DEFAULT_REALTIME_OPTIONS: RealtimeOptions = {
  maxBufferBytes: 1 << 20,
  idleTimeoutMs: 5 * 60_000,
};

/** What the broker uses of the app. */
export interface BrokerDeps {
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

  constructor(
    private readonly deps: BrokerDeps,
    private readonly options: RealtimeOptions = DEFAULT_REALTIME_OPTIONS,
  ) {
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

  /** Registers a new SSE stream and sends PB_CONNECT. */
  connect(res: ServerResponse, ip: string): RealtimeClient {
    const id = randomString(40);
    const client = new RealtimeClient(id, ip, res, this.options.maxBufferBytes, (c) =>
      this.clients.delete(c.id),
    );
    this.clients.set(id, client);
    client.send("PB_CONNECT", { clientId: id });
    return client;
  }

  /** A connected client by id. */
  client(id: string): RealtimeClient | undefined {
    const c = this.clients.get(id);
    return c && !c.isClosed ? c : undefined;
  }

  /** Replaces a client's subscriptions and auth. */
  setSubscriptions(client: RealtimeClient, topics: Topic[], auth: RequestAuth | null): void {
    client.subscriptions.clear();
    for (const t of topics) client.subscriptions.set(t.raw, t);
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
    if (local) return local.subscriptions.has(topic) && local.send(topic, data);
    if (!this.sharedBus) return false;
    // a bus that can tell (PostgreSQL) knows when no other instance is listening: then no one holds the client
    if (this.deps.bus.hasPeers && !(await this.deps.bus.hasPeers())) return false;
    await this.deps.bus.publish({ kind: "direct", clientId, topic, data });
    return true;
  }

  /** Waits until every message published so far has been delivered (tests, shutdown). */
  drain(): Promise<void> {
    return this.queue;
  }

  /** Closes every client stream and stops listening to the bus. */
  closeAll(): void {
    this.unsubscribe();
    clearInterval(this.sweeper);
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
      if (c?.subscriptions.has(message.topic)) c.send(message.topic, message.data);
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
    const recordId = String(message.record.id);
    // Clients asking the same question (same auth, rule, options) share one check and one serialisation.
    const groups = new Map<
      string,
      { req: RecordRequest; rule: string | null; topic: Topic; targets: [RealtimeClient, string][] }
    >();
    for (const client of this.clients.values()) {
      for (const topic of client.subscriptions.values()) {
        const byName = topic.collection === collection.name || topic.collection === collection.id;
        if (!byName || (topic.recordId !== "*" && topic.recordId !== recordId)) continue;
        const auth = this.authFor(client);
        const rule = topic.recordId === "*" ? collection.listRule : collection.viewRule;
        const who = auth ? `${auth.collection.id}/${String(auth.record.id)}` : "guest";
        const key = `${who}\u0000${rule ?? "\u0001"}\u0000${topic.optionsKey}`;
        let group = groups.get(key);
        if (!group) {
          const req: RecordRequest = {
            auth,
            query: topic.query,
            headers: topic.headers,
            method: "GET",
            context: "realtime",
          };
          group = { req, rule, topic, targets: [] };
          groups.set(key, group);
        }
        group.targets.push([client, topic.raw]);
      }
    }
    await Promise.all(
      [...groups.values()].map(async ({ req, rule, topic, targets }) => {
        const ok = await subscriberCanSee(
          this.deps.records,
          collection,
          message.record,
          req,
          rule,
          topic.query.filter,
        );
        if (!ok) return;
        const [record] = await this.deps.records.enrich(collection, [message.record], req, {
          expand: topic.query.expand,
          fields: topic.query.fields,
        });
        const json = JSON.stringify({ action: message.action, record });
        for (const [client, event] of targets) client.sendJson(event, json);
      }),
    );
  }
}
