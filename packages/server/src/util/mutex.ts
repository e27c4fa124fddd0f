/**
 * A promise-based mutual-exclusion lock: `run(fn)` calls fn once every earlier caller has finished, in the
 * order they asked. A free lock calls fn at once (no extra turn of the microtask queue), so an uncontended
 * write costs one promise more than fn's own.
 */
export class Mutex {
  private held = false;
  private waiting: (() => void)[] = [];
  private head = 0;

  /** Runs fn exclusively and resolves with its result. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    if (!this.held) {
      this.held = true;
      return this.hold(fn);
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve)).then(() => this.hold(fn));
  }

  private hold<T>(fn: () => Promise<T> | T): Promise<T> {
    let result: Promise<T>;
    try {
      result = Promise.resolve(fn());
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(this.release, this.release);
    return result;
  }

  /** Hands the lock to the next waiter, or frees it. */
  private readonly release = (): void => {
    if (this.head < this.waiting.length) {
      const next = this.waiting[this.head];
      this.waiting[this.head++] = noop;
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting = this.waiting.slice(this.head);
        this.head = 0;
      }
      next();
      return;
    }
    this.waiting.length = 0;
    this.head = 0;
    this.held = false;
  };
}

function noop(): void {}
