/** A counter window: how many hits a key has had and when its window ends (epoch milliseconds). */
export interface RateWindow {
  readonly count: number;
  readonly resetAt: number;
}

/**
 * Where rate-limit counters live. The in-memory store serves one process; a shared store (Redis, issue 6)
 * implements the same three calls so every instance sees the same counts.
 */
export interface RateLimitStore {
  /** Counts one hit for a key in a fixed window of `windowMs` and returns the window after the hit. */
  hit(key: string, windowMs: number): Promise<RateWindow>;
  /** The key's current window, or null when it has none (or it ended). */
  peek(key: string): Promise<RateWindow | null>;
  /** Forgets a key (after a successful sign-in, say). */
  reset(key: string): Promise<void>;
}

/** A process-local RateLimitStore: fixed windows in a Map, swept as they expire. */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  private lastSweep = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  private sweep(now: number): void {
    // Sweep at most once a second, and always when the map grows past its cap (memory stays bounded).
    if (now - this.lastSweep < 1000 && this.windows.size < this.maxKeys) return;
    this.lastSweep = now;
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
    if (this.windows.size >= this.maxKeys) {
      const drop = this.windows.size - this.maxKeys + 1;
      let i = 0;
      for (const k of this.windows.keys()) {
        if (i++ >= drop) break;
        this.windows.delete(k);
      }
    }
  }

  async hit(key: string, windowMs: number): Promise<RateWindow> {
    const now = this.now();
    this.sweep(now);
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, w);
    }
    w.count++;
    return { count: w.count, resetAt: w.resetAt };
  }

  async peek(key: string): Promise<RateWindow | null> {
    const w = this.windows.get(key);
    return w && w.resetAt > this.now() ? { count: w.count, resetAt: w.resetAt } : null;
  }

  async reset(key: string): Promise<void> {
    this.windows.delete(key);
  }
}
