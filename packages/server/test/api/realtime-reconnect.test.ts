import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import PocketBase from "pocketbase";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../cli/cli-helpers.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";
import { eventually, installEventSource } from "../harness/sse.js";

installEventSource();

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function publicFeed(server: TestServer): Promise<void> {
  const su = await superuserSdk(server);
  await su.collections.create({
    name: "feed",
    fields: [{ name: "title", type: "text" }],
    listRule: "",
    viewRule: "",
    createRule: "",
  } as never);
}

describe("realtime connection lifecycle", () => {
  it("disconnects an idle client; the SDK reconnects and resubscribes by itself", async () => {
    const server = await startServer({ realtimeIdleTimeoutMs: 300 });
    cleanup.push(() => server.stop());
    await publicFeed(server);
    const pb = server.sdk();
    const got: string[] = [];
    await pb.collection("feed").subscribe("*", (e) => got.push(e.record.title));
    const firstId = pb.realtime.clientId;
    await eventually(
      () => pb.realtime.clientId !== "" && pb.realtime.clientId !== firstId,
      5000,
      "a new connection",
    );
    await eventually(
      () => server.basalt.app.realtime.client(pb.realtime.clientId)?.subscriptions.size === 1,
      3000,
      "resubscribed",
    );
    await server.sdk().collection("feed").create({ title: "after idle" });
    await eventually(() => got.includes("after idle"), 3000, "event after reconnect");
    await pb.realtime.unsubscribe();
  });

  it("survives a server restart: the SDK reconnects and resubscribes", async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), "basalt-rt-restart-"));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const first = await startServer({ http: `127.0.0.1:${port}` }, { dataDir });
    await publicFeed(first);
    const pb = new PocketBase(first.url);
    pb.autoCancellation(false);
    const got: string[] = [];
    await pb.collection("feed").subscribe("*", (e) => got.push(e.record.title));
    await first.stop();
    const second = await startServer({ http: `127.0.0.1:${port}` }, { dataDir });
    cleanup.push(() => second.stop());
    await eventually(() => second.basalt.app.realtime.size === 1, 10_000, "the SDK to reconnect");
    await eventually(
      () =>
        [...Array(1)].every(
          () => second.basalt.app.realtime.client(pb.realtime.clientId)?.subscriptions.size === 1,
        ),
      5000,
      "the SDK to resubscribe",
    );
    await second.sdk().collection("feed").create({ title: "after restart" });
    await eventually(() => got.includes("after restart"), 3000, "event after restart");
    expect(got).toEqual(["after restart"]);
    await pb.realtime.unsubscribe();
  });
});
