import { Redis } from "ioredis";
import type { Logger } from "pino";
import { settlesWithin } from "../util/index.js";
import { MemoryRateLimitStore, type RateLimitStore, type RateWindow } from "./rate-limit-store.js";

/** Options of the Redis rate-limit store. */
export interface RedisRateLimitStoreOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
  readonly url: string;
  /** Prefix of every key Basalt writes; counters live under `<prefix>rl:`. */
  readonly prefix: string;
  readonly log: Logger;
  /** How long a counter command may take before the local fallback answers, in milliseconds (default 500). */
  readonly commandTimeoutMs?: number;
}

// INCR and the window's expiry in one atomic step: the first hit of a window sets its length.
const HIT = `local c = redis.call('INCR', KEYS[1])
local t = redis.call('PTTL', KEYS[1])
if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); t = tonumber(ARGV[1]) end
return {c, t}`;

const PEEK = `local c = redis.call('GET', KEYS[1])
if not c then return false end
return {tonumber(c), redis.call('PTTL', KEYS[1])}`;

/**
 * Rate-limit counters shared by every instance through Redis (issue 6): fixed windows as keys with a TTL,
 * counted by a Lua script. A request never waits on a dead Redis: commands fail at once while disconnected
 * and time out after `commandTimeoutMs`; then this instance's memory counts instead, so limits keep applying
 * (per instance) rather than failing open or locking everyone out.
 */
export class RedisRateLimitStore implements RateLimitStore {
  private readonly redis: Redis;
  private readonly local = new MemoryRateLimitStore();
  private lastWarning = 0;
  /** After a failure, counting stays local until then, so a hung Redis costs one timeout, not one per call. */
  private skipUntil = 0;
  private readonly connected: Promise<void>;

  constructor(private readonly options: RedisRateLimitStoreOptions) {
    this.redis = new Redis(options.url, {
      connectionName: "basalt-rate-limits",
      connectTimeout: 2_000,
      commandTimeout: options.commandTimeoutMs ?? 500,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // a counter command resent after a reconnect could count twice
      autoResendUnfulfilledCommands: false,
      lazyConnect: true,
    });
    this.redis.on("error", (err) => this.degraded(err));
    this.connected = new Promise((resolve) => this.redis.once("ready", () => resolve()));
    this.redis.connect().catch(() => undefined);
  }

  /** Resolves true once connected, or false after `timeoutMs` (it keeps trying in the background). */
  async waitUntilConnected(timeoutMs: number): Promise<boolean> {
    return settlesWithin(this.connected, timeoutMs);
  }

  private key(key: string): string {
    return `${this.options.prefix}rl:${key}`;
  }

  private get usable(): boolean {
    return this.redis.status === "ready" && Date.now() >= this.skipUntil;
  }

  async hit(key: string, windowMs: number): Promise<RateWindow> {
    if (!this.usable) return this.local.hit(key, windowMs);
    try {
      const [count, ttl] = (await this.redis.eval(HIT, 1, this.key(key), Math.ceil(windowMs))) as [
        number,
        number,
      ];
      return { count, resetAt: Date.now() + ttl };
    } catch (err) {
      this.degraded(err);
      return this.local.hit(key, windowMs);
    }
  }

  async peek(key: string): Promise<RateWindow | null> {
    if (!this.usable) return this.local.peek(key);
    try {
      const found = (await this.redis.eval(PEEK, 1, this.key(key))) as [number, number] | null;
      if (!found || found[1] < 0) return null;
      return { count: found[0], resetAt: Date.now() + found[1] };
    } catch (err) {
      this.degraded(err);
      return this.local.peek(key);
    }
  }

  async reset(key: string): Promise<void> {
    await this.local.reset(key);
    if (!this.usable) return;
    try {
      await this.redis.del(this.key(key));
    } catch (err) {
      this.degraded(err);
    }
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    this.lastWarning = Number.POSITIVE_INFINITY;
    if (this.redis.status === "ready") {
      const quit = this.redis.quit().catch(() => undefined);
      await settlesWithin(quit, 500);
    }
    this.redis.disconnect();
  }

  private degraded(err: unknown): void {
    this.skipUntil = Date.now() + 2_000;
    if (Date.now() - this.lastWarning < 5_000) return;
    this.lastWarning = Date.now();
    this.options.log.warn({ err }, "rate limits: Redis unavailable, counting in this instance's memory");
  }
}
