import type { Logger } from "pino";

/**
 * What a shared bus could not send while its connection was down: kept in order, bounded (past `max` the
 * oldest are dropped, with a warning every hundred), and sent one at a time, oldest first, once it is back.
 */
export class OfflineQueue<T> {
  private items: T[] = [];
  private flushing = false;
  private dropped = 0;

  constructor(
    private readonly max: number,
    private readonly log: Logger,
  ) {}

  /** How many messages wait. */
  get size(): number {
    return this.items.length;
  }

  /** True while messages wait or are being sent: a new one must queue behind them to keep the order. */
  get busy(): boolean {
    return this.items.length > 0 || this.flushing;
  }

  /** Keeps a message for later. */
  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.max) {
      this.items.shift();
      if (this.dropped++ % 100 === 0) {
        this.log.warn({ dropped: this.dropped }, "realtime bus: offline queue full, dropping");
      }
    }
  }

  /**
   * Sends the queued messages in order while `canSend()`; one flush at a time. The first failure stops it,
   * keeps that message at the head and goes to `onError`.
   */
  async flush(
    canSend: () => boolean,
    send: (item: T) => Promise<unknown>,
    onError: (err: unknown) => void,
  ): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.items.length && canSend()) {
        try {
          await send(this.items[0]);
        } catch (err) {
          onError(err);
          break;
        }
        this.items.shift();
      }
    } finally {
      this.flushing = false;
    }
  }
}

/** A warning logger that speaks at most once per interval: reconnect attempts fail repeatedly in an outage. */
export function throttledWarn(log: Logger, message: string, intervalMs = 5_000): (err: unknown) => void {
  let last = 0;
  return (err) => {
    if (Date.now() - last < intervalMs) return;
    last = Date.now();
    log.warn({ err }, message);
  };
}
