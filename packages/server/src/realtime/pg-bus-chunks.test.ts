import { describe, expect, it } from "vitest";
import type { RealtimeMessage } from "./bus.js";
import { NotifyChunker } from "./pg-bus-chunks.js";

const big = (text: string): RealtimeMessage => ({
  kind: "record",
  action: "update",
  collectionId: "pbc_1",
  record: { id: "r1", text },
});

describe("NotifyChunker", () => {
  it("sends a small message as one payload and skips the instance's own", () => {
    const a = new NotifyChunker("a");
    const b = new NotifyChunker("b");
    const payloads = a.encode(big("hi"));
    expect(payloads).toHaveLength(1);
    expect(b.decode(payloads[0])).toEqual(big("hi"));
    expect(a.decode(payloads[0])).toBeUndefined();
  });

  it("splits a large message into payloads under 8,000 bytes, never inside a character", () => {
    const a = new NotifyChunker("a");
    const b = new NotifyChunker("b");
    // multi-byte characters straddle every chunk boundary somewhere
    const text = "é€😀x".repeat(20_000);
    const payloads = a.encode(big(text));
    expect(payloads.length).toBeGreaterThan(10);
    for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThan(8000);
    const got = payloads.map((p) => b.decode(p));
    expect(got.slice(0, -1).every((m) => m === undefined)).toBe(true);
    expect(got.at(-1)).toEqual(big(text));
  });

  it("reassembles chunks in any order and interleaved with other messages", () => {
    const a = new NotifyChunker("a");
    const c = new NotifyChunker("c");
    const b = new NotifyChunker("b");
    const one = a.encode(big("1".repeat(20_000)));
    const two = c.encode(big("2".repeat(20_000)));
    const got: RealtimeMessage[] = [];
    for (const p of [one[2], two[0], one[0], two[2], two[1], one[1]]) {
      const m = b.decode(p);
      if (m) got.push(m);
    }
    expect(got).toEqual([big("2".repeat(20_000)), big("1".repeat(20_000))]);
  });

  it("ignores malformed payloads and duplicate chunks", () => {
    const b = new NotifyChunker("b");
    expect(b.decode("not json")).toBeUndefined();
    expect(b.decode('{"o":"x","m":{"kind":"other"}}')).toBeUndefined();
    expect(b.decode("~x:1:5:2:{")).toBeUndefined();
    const parts = new NotifyChunker("a").encode(big("z".repeat(10_000)));
    expect(b.decode(parts[0])).toBeUndefined();
    expect(b.decode(parts[0])).toBeUndefined();
    expect(b.decode(parts[1])).toEqual(big("z".repeat(10_000)));
  });
});
