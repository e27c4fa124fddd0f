/** A promise-based counting semaphore: at most `slots` calls of `run` are in progress at once, the rest wait in order. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly slots: number) {}

  /** Runs fn once a slot is free and resolves (or rejects) with its outcome. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.slots) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      // the slot passes straight to the next caller, so `active` only drops when nobody waits
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  /** How many calls wait for a slot. */
  get queued(): number {
    return this.waiting.length;
  }
}
