/**
 * Collects the keys asked for while one round of resolvers runs and loads them with one call, DataLoader's
 * way: the batch is dispatched after the promise jobs queued so far have run, so every sibling resolver of a
 * list adds its keys first. Each key is loaded once per loader (a per-request cache).
 */
export class BatchLoader<V> {
  private readonly cache = new Map<string, Promise<V>>();
  private pending: { key: string; resolve: (v: V) => void; reject: (e: unknown) => void }[] = [];

  constructor(
    private readonly loadMany: (keys: string[]) => Promise<Map<string, V>>,
    private readonly missing: V,
  ) {}

  /** The value for a key (the `missing` value when the batch has none). */
  load(key: string): Promise<V> {
    const cached = this.cache.get(key);
    if (cached) return cached;
    const p = new Promise<V>((resolve, reject) => {
      if (this.pending.length === 0) {
        void Promise.resolve().then(() => process.nextTick(() => void this.dispatch()));
      }
      this.pending.push({ key, resolve, reject });
    });
    this.cache.set(key, p);
    return p;
  }

  private async dispatch(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    try {
      const found = await this.loadMany(batch.map((b) => b.key));
      for (const b of batch) b.resolve(found.get(b.key) ?? this.missing);
    } catch (err) {
      for (const b of batch) {
        this.cache.delete(b.key);
        b.reject(err);
      }
    }
  }
}
