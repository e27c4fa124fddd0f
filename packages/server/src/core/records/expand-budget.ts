import { LimitError } from "../../errors/index.js";

/** The default number of expanded records one response, realtime event or batch may hold. */
export const DEFAULT_EXPAND_MAX_RECORDS = 5000;

/**
 * How many expanded records one response (or realtime event, or batch) may still load and emit (issue 10:
 * nine records linking to each other with a six-level expand froze the server, because shared expanded
 * objects made the output grow as N^depth). Records are counted as they are referenced and loaded, and
 * again as they are emitted: a record that appears under several parents counts once per appearance.
 */
export class ExpandBudget {
  private loaded = 0;
  private emitted = 0;

  constructor(readonly max: number) {}

  /** Loading (or referencing) `n` more records; throws the 400 when the budget would be exceeded. */
  load(n: number): void {
    this.loaded += n;
    if (this.loaded > this.max) throw this.exceeded();
  }

  /** Records one more load may still bring (for `LIMIT`s). */
  get remaining(): number {
    return Math.max(0, this.max - this.loaded);
  }

  /** Checks a partial count of expanded records (one level of one response) against the budget. */
  check(n: number): void {
    if (n > this.max) throw this.exceeded();
  }

  /** Counts `n` expanded records a finished response emits; throws when the total exceeds the budget. */
  emit(n: number): void {
    this.emitted += n;
    if (this.emitted > this.max) throw this.exceeded();
  }

  private exceeded(): LimitError {
    return new LimitError(
      "BASALT_ERR_LIMIT_EXPAND",
      `At most ${this.max} expanded records are allowed per response (--expand-max-records).`,
    );
  }
}
