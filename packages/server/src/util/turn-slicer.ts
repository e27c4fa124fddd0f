import { setImmediate as nextTurn } from "node:timers/promises";

/** Default milliseconds a piece of request work runs before it lets other requests run. */
export const DEFAULT_SLICE_MS = 2;

/**
 * Cuts long work on the event loop into turns (issue 10: an expand bomb or a 1,000-topic subscription ran in
 * one turn, since the SQLite driver settles its promises at once, and a normal client's request waited behind
 * it). Call {@link TurnSlicer.pause} between steps: once the work has run for `sliceMs` since it started or
 * last yielded, it yields to the event loop (one `setImmediate` turn), so pending I/O is served first.
 */
export class TurnSlicer {
  private since = performance.now();

  constructor(private readonly sliceMs = DEFAULT_SLICE_MS) {}

  /** Whether the work has used up its slice (then {@link pause} yields). */
  get due(): boolean {
    return performance.now() - this.since >= this.sliceMs;
  }

  /** Yields to the event loop when the slice is used up; otherwise returns at once. */
  async pause(): Promise<void> {
    if (!this.due) return;
    await nextTurn();
    this.since = performance.now();
  }
}
