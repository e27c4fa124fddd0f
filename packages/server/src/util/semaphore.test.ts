import { describe, expect, it } from "vitest";
import { Semaphore } from "./semaphore.js";

describe("Semaphore", () => {
  it("runs at most `slots` calls at once, in arrival order, and frees a slot on rejection too", async () => {
    const sem = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const releases: (() => void)[] = [];
    const calls = Array.from({ length: 5 }, (_, i) =>
      sem.run(async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(i);
        await new Promise<void>((r) => releases.push(r));
        running--;
        if (i === 0) throw new Error("boom");
        return i;
      }),
    );
    const settled = Promise.allSettled(calls);
    for (let step = 0; step < 5; step++) {
      await new Promise((r) => setImmediate(r));
      expect(running).toBeLessThanOrEqual(2);
      releases.shift()?.();
    }
    const results = await settled;
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(results[0].status).toBe("rejected");
    expect(results.slice(1).map((r) => (r as PromiseFulfilledResult<number>).value)).toEqual([1, 2, 3, 4]);
    expect(sem.queued).toBe(0);
  });
});
