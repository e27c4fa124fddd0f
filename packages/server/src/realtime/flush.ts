import { setImmediate as yieldToLoop } from "node:timers/promises";

/** What the flusher needs of a client: write out what it has queued. */
export interface Flushable {
  flush(): void;
}

/** How long one flush writes before letting other requests run (ms). */
const SLICE_MS = 4;

/**
 * Writes the frames queued on realtime clients in rounds, at most one round per `windowMs`, each client's
 * queued frames as one write. On a large fan-out the socket write (a system call per client, where the
 * loopback or NIC work is done) costs more than everything else an event needs, so frames that arrive
 * within one window share one write per client instead of one each: 1,000 subscribers and 100 events/s
 * become at most 1,000 writes per window instead of 100,000 per second. A quiet stream is written at once
 * (the window counts from the previous round), so the delay is bounded by the window and only paid under
 * load. A round yields to the event loop every few milliseconds so that requests are not held back.
 */
export class FrameFlusher {
  private dirty = new Set<Flushable>();
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private running = false;
  private lastRound = Number.NEGATIVE_INFINITY;
  private waiters: (() => void)[] = [];

  constructor(private readonly windowMs: number) {}

  /** Marks `client` as having frames to write; they go out in the next round. */
  queue(client: Flushable): void {
    this.dirty.add(client);
    this.schedule();
  }

  /** Resolves once every frame queued so far has been written. */
  flushed(): Promise<void> {
    if (!this.running && !this.dirty.size) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Writes what is queued now, at once (the clients are about to be closed), and cancels the next round. */
  stop(): void {
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = null;
    }
    const batch = this.dirty;
    this.dirty = new Set();
    for (const c of batch) {
      try {
        c.flush();
      } catch {
        // closing anyway
      }
    }
    for (const w of this.waiters.splice(0)) w();
  }

  private schedule(): void {
    if (this.running || this.timer) return;
    const wait = this.lastRound + this.windowMs - performance.now();
    // setImmediate even without a wait: the rest of the current event's fan-out joins this round
    this.timer = wait > 0 ? setTimeout(() => this.run(), wait) : setImmediate(() => this.run());
  }

  private async run(): Promise<void> {
    this.timer = null;
    this.running = true;
    this.lastRound = performance.now();
    const batch = this.dirty;
    this.dirty = new Set();
    let since = this.lastRound;
    let n = 0;
    for (const c of batch) {
      try {
        c.flush();
      } catch {
        // a stream that fails to take a write is closed by its own error handling; the others go on
      }
      if (++n % 32 === 0 && performance.now() - since >= SLICE_MS) {
        await yieldToLoop();
        since = performance.now();
      }
    }
    this.running = false;
    if (this.dirty.size) this.schedule();
    else for (const w of this.waiters.splice(0)) w();
  }
}
