/** A promise-based mutual-exclusion lock: `run(fn)` calls fn once every earlier caller has finished. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs fn exclusively and resolves with its result. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
