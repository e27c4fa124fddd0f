import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { DEFAULT_REALTIME_OPTIONS, RealtimeBroker } from "./broker.js";
import { LocalBus } from "./bus.js";
import type { RealtimeOutput } from "./client.js";

/** An output that reports whatever unsent length the test sets, as a stalled socket would. */
class StalledOutput implements RealtimeOutput {
  writableLength = 0;
  writableEnded = false;
  private closers: (() => void)[] = [];
  write(_chunk: string | Uint8Array): boolean {
    return true;
  }
  end(): void {
    this.writableEnded = true;
  }
  destroy(): void {
    for (const c of this.closers.splice(0)) c();
  }
  on(_event: "close", listener: () => void): this {
    this.closers.push(listener);
    return this;
  }
}

function broker(): RealtimeBroker {
  return new RealtimeBroker(
    { collections: {} as never, records: {} as never, bus: new LocalBus(), log: pino({ level: "silent" }) },
    { ...DEFAULT_REALTIME_OPTIONS, maxBufferBytes: 1 << 20, maxBufferBytesTotal: 256 * 1024 },
  );
}

describe("realtime unsent-bytes budget", () => {
  it("gives each client an equal share of the total, so many slow readers cannot hold the per-client limit each", async () => {
    const b = broker();
    const outs = [new StalledOutput(), new StalledOutput()];
    const [one, two] = outs.map((o) => b.connect(o, "127.0.0.1"));
    await b.drain();
    // two clients: 128 KiB each, well under the 1 MiB a lone client may hold
    outs[0]!.writableLength = 200 * 1024;
    outs[1]!.writableLength = 100 * 1024;
    expect(await b.sendMessage(one!, "x", { n: 1 })).toBe(false);
    expect(one!.isClosed && one!.dropped).toBe(true);
    expect(b.droppedClients).toBe(1);
    // alone now, the other may hold the whole total
    outs[1]!.writableLength = 200 * 1024;
    expect(await b.sendMessage(two!, "x", { n: 2 })).toBe(true);
    await b.drain();
    expect(two!.isClosed).toBe(false);
    outs[1]!.writableLength = 300 * 1024;
    expect(await b.sendMessage(two!, "x", { n: 3 })).toBe(false);
    expect(two!.dropped).toBe(true);
    b.closeAll();
  });

  it("counts frames queued for the next write against the share", async () => {
    const b = broker();
    const out = new StalledOutput();
    const c = b.connect(out, "127.0.0.1");
    await b.drain();
    const big = "y".repeat(100 * 1024);
    // queued within one write window, not yet written: the third passes the 256 KiB share
    expect(await b.sendMessage(c, "x", { big })).toBe(true);
    expect(await b.sendMessage(c, "x", { big })).toBe(true);
    expect(await b.sendMessage(c, "x", { big })).toBe(true);
    expect(await b.sendMessage(c, "x", { big })).toBe(false);
    expect(c.dropped).toBe(true);
    b.closeAll();
  });
});
