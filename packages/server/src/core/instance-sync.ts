import type { Logger } from "pino";
import { IpcRateLimitStore, openRedisRateLimitStore, type RateLimitStore } from "../auth/index.js";
import { isPostgresUrl } from "../db/index.js";
import {
  IpcBus,
  LocalBus,
  openRedisBus,
  PgBus,
  type RealtimeBus,
  type RealtimeControlMessage,
  WorkersSharedBus,
} from "../realtime/index.js";
import { clearRulesCache } from "../rules/index.js";
import { type IpcChannel, parentChannel, randomString } from "../util/index.js";
import type { CollectionsService } from "./collections/index.js";
import type { BasaltConfig } from "./config.js";
import type { SettingsService } from "./settings/index.js";

/**
 * What instances share: the realtime bus, and the rate-limit counters when Redis is configured (or, in the
 * workers of `basalt serve --workers`, the primary process keeps them).
 */
export interface SharedServices {
  readonly bus: RealtimeBus;
  /** The shared counters; absent when they stay in this process's memory. */
  readonly rateLimits?: RateLimitStore;
  /** Checks Redis answers (health); absent without Redis. */
  pingRedis?(): Promise<void>;
  /** Closes the connections. */
  close(): Promise<void>;
}

/** The cluster IPC link of a `basalt serve --workers` worker, or null for a process of its own. */
function workerChannel(config: BasaltConfig): IpcChannel | null {
  if (!config.clusterWorker) return null;
  const channel = parentChannel();
  if (!channel) throw new Error("clusterWorker is set but this process has no IPC channel to a primary");
  return channel;
}

/**
 * Opens the bus and the counters (issue 6): on Redis with `config.redisUrl`; else, on PostgreSQL, the bus on
 * LISTEN/NOTIFY in the shared database; else in-process. Without Redis the counters stay in memory: this
 * process's, or in a `--workers` worker the primary's, which also relays the bus on SQLite (issue 19). An
 * unreachable Redis or bus connection does not stop the start: the instance serves HTTP and keeps
 * reconnecting in the background.
 */
export async function openSharedServices(config: BasaltConfig, log: Logger): Promise<SharedServices> {
  const channel = workerChannel(config);
  const siblings = channel ? new IpcBus(channel, { log }) : undefined;
  if (siblings && !(await siblings.waitUntilJoined(5_000)))
    log.error("the primary process does not relay to this worker: its caches may lag its siblings'");
  // without Redis, a worker's counters are the primary's
  const counters = channel && !config.redisUrl ? new IpcRateLimitStore(channel, { log }) : undefined;
  const withSiblings = (bus: RealtimeBus): RealtimeBus =>
    siblings ? new WorkersSharedBus(bus, siblings) : bus;
  if (!config.redisUrl && isPostgresUrl(config.dbUrl)) {
    const pgBus = new PgBus({ url: config.dbUrl.trim(), prefix: config.pgChannelPrefix, log });
    if (!(await pgBus.waitUntilListening(5_000)))
      log.error("the realtime bus cannot LISTEN on PostgreSQL: serving this instance alone until it can");
    const bus = withSiblings(pgBus);
    return {
      bus,
      ...(counters ? { rateLimits: counters } : {}),
      close: async () => {
        counters?.close();
        await bus.close();
      },
    };
  }
  if (!config.redisUrl) {
    // on SQLite, a worker's siblings on this machine are every other instance there can be
    const bus = siblings ?? new LocalBus();
    return {
      bus,
      ...(counters ? { rateLimits: counters } : {}),
      close: async () => {
        counters?.close();
        await bus.close();
      },
    };
  }
  const shared = { url: config.redisUrl, prefix: config.redisPrefix, log };
  const [redisBus, rateLimits] = await Promise.all([openRedisBus(shared), openRedisRateLimitStore(shared)]);
  const [subscribed] = await Promise.all([
    redisBus.waitUntilSubscribed(config.redisConnectTimeoutMs),
    rateLimits.waitUntilConnected(config.redisConnectTimeoutMs),
  ]);
  if (!subscribed) {
    log.error("Redis is unreachable: serving this instance alone until it answers");
  }
  const bus = withSiblings(redisBus);
  return {
    bus,
    rateLimits,
    pingRedis: () => redisBus.ping(),
    close: async () => {
      await Promise.all([bus.close(), rateLimits.close()]);
    },
  };
}

/** What the instance sync keeps current. */
export interface InstanceSyncDeps {
  readonly bus: RealtimeBus;
  readonly collections: CollectionsService;
  readonly settings: SettingsService;
  readonly log: Logger;
}

/**
 * Keeps the in-memory caches of every instance in step (issue 6): a committed change to the collections or
 * the settings is announced on the bus, and the other instances reload it (compiled rules are dropped with
 * the schema); after a bus outage everything is reloaded. Returns `ready`, which resolves once every reload
 * asked for so far has finished, for the realtime broker to wait on before checking a record event.
 *
 * Subscribe this before the broker, so the broker's wait includes the reload of the same message.
 */
export function syncInstances(deps: InstanceSyncDeps): { ready: () => Promise<void> } {
  const { bus, collections, settings, log } = deps;
  const origin = randomString(15);
  const announced = new Set<RealtimeControlMessage["change"]>();
  let batch: Promise<void> | undefined;
  // Changes of one commit (an import touches many collections) go out as one message. The request that made
  // them answers once Redis took the message, so the other instances have it before the client can ask them.
  const announce = (change: RealtimeControlMessage["change"]): Promise<void> => {
    announced.add(change);
    batch ??= Promise.resolve().then(async () => {
      const changes = [...announced];
      announced.clear();
      batch = undefined;
      await Promise.all(changes.map((c) => bus.publish({ kind: "control", change: c, origin })));
    });
    return batch;
  };
  collections.onChange(() => announce("collections"));
  settings.onChange(() => announce("settings"));

  const reload = async (change: RealtimeControlMessage["change"]) => {
    if (change !== "settings") {
      await collections.reload();
      clearRulesCache();
    }
    if (change !== "collections") await settings.reload();
  };
  let chain: Promise<void> = Promise.resolve();
  // The reload's promise goes back to the bus: the cluster IPC bus confirms a change to its publisher only
  // once the reload it caused is done.
  bus.subscribe((message) => {
    if (message.kind !== "control" || message.origin === origin) return;
    chain = chain
      .then(() => reload(message.change))
      .catch((err: unknown) => log.error({ err, change: message.change }, "cache reload failed"));
    return chain;
  });
  return { ready: () => chain };
}
