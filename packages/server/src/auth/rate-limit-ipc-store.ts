import type { Logger } from "pino";
import { clusterMessage, type IpcChannel } from "../util/index.js";
import { MemoryRateLimitStore, type RateLimitStore, type RateWindow } from "./rate-limit-store.js";

/** Options of the cluster IPC rate-limit store. */
export interface IpcRateLimitStoreOptions {
  readonly log: Logger;
  /** How long a counter call may wait for the primary before this worker's memory answers (default 500 ms). */
  readonly timeoutMs?: number;
}

/**
 * Rate-limit counters of `basalt serve --workers` without Redis (issue 19): the workers of one machine count
 * in the primary process's memory, one round trip over the cluster IPC channel per call, so a limit of N
 * allows N requests in all, whichever worker serves them. If the primary does not answer in time (it is
 * gone), this worker's own memory counts instead: limits keep applying, per worker, rather than failing open.
 */
export class IpcRateLimitStore implements RateLimitStore {
  private readonly local = new MemoryRateLimitStore();
  private readonly pending = new Map<number, (window: RateWindow | null) => void>();
  private nextId = 1;
  private lastWarning = 0;
  private readonly off: () => void;

  constructor(
    private readonly channel: IpcChannel,
    private readonly options: IpcRateLimitStoreOptions,
  ) {
    this.off = channel.onMessage((raw) => {
      const m = clusterMessage(raw);
      if (m?.basalt !== "rl-result") return;
      const done = this.pending.get(m.id);
      if (!done) return;
      this.pending.delete(m.id);
      done(m.window);
    });
  }

  async hit(key: string, windowMs: number): Promise<RateWindow> {
    const shared = await this.call("hit", key, windowMs);
    return shared === undefined || shared === null ? this.local.hit(key, windowMs) : shared;
  }

  async peek(key: string): Promise<RateWindow | null> {
    const shared = await this.call("peek", key);
    return shared === undefined ? this.local.peek(key) : shared;
  }

  async reset(key: string): Promise<void> {
    await this.local.reset(key);
    await this.call("reset", key);
  }

  /** Stops listening; calls still waiting are answered by this worker's memory. */
  close(): void {
    this.off();
    for (const done of this.pending.values()) done(null);
    this.pending.clear();
  }

  /** The primary's answer, or undefined when it did not come in time. */
  private call(
    op: "hit" | "peek" | "reset",
    key: string,
    windowMs?: number,
  ): Promise<RateWindow | null | undefined> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.degraded();
        resolve(undefined);
      }, this.options.timeoutMs ?? 500);
      this.pending.set(id, (window) => {
        clearTimeout(timer);
        resolve(window);
      });
      const sent = this.channel.send({ basalt: "rl", id, op, key, ...(windowMs ? { windowMs } : {}) });
      if (!sent) {
        clearTimeout(timer);
        this.pending.delete(id);
        this.degraded();
        resolve(undefined);
      }
    });
  }

  private degraded(): void {
    if (Date.now() - this.lastWarning < 5_000) return;
    this.lastWarning = Date.now();
    this.options.log.warn(
      "rate limits: the primary process does not answer, counting in this worker's memory",
    );
  }
}
