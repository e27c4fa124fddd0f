import { describe, expect, it } from "vitest";
import { Mutex } from "./mutex.js";

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("Mutex", () => {
  it("runs one holder at a time, in the order they asked", async () => {
    const lock = new Mutex();
    const log: string[] = [];
    let inside = 0;
    const job = (name: string) =>
      lock.run(async () => {
        inside++;
        expect(inside).toBe(1);
        log.push(`${name}:in`);
        await tick();
        log.push(`${name}:out`);
        inside--;
        return name;
      });
    const results = await Promise.all([job("a"), job("b"), job("c")]);
    expect(results).toEqual(["a", "b", "c"]);
    expect(log).toEqual(["a:in", "a:out", "b:in", "b:out", "c:in", "c:out"]);
  });

  it("calls a free lock's holder at once, and a waiting one only after the holder settles", async () => {
    const lock = new Mutex();
    let first = false;
    let second = false;
    let release: () => void = () => {};
    const a = lock.run(() => {
      first = true;
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    expect(first).toBe(true);
    const b = lock.run(() => {
      second = true;
    });
    await tick();
    expect(second).toBe(false);
    release();
    await Promise.all([a, b]);
    expect(second).toBe(true);
  });

  it("passes a holder's failure (thrown or rejected) to its caller and frees the lock", async () => {
    const lock = new Mutex();
    await expect(
      lock.run(() => {
        throw new Error("sync");
      }),
    ).rejects.toThrow("sync");
    await expect(lock.run(() => Promise.reject(new Error("async")))).rejects.toThrow("async");
    expect(await lock.run(() => 42)).toBe(42);
  });

  it("serves thousands of waiters in order", async () => {
    const lock = new Mutex();
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 5000 }, (_, i) =>
        lock.run(async () => {
          order.push(i);
          if (i % 500 === 0) await tick();
        }),
      ),
    );
    expect(order).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });
});
