import { describe, expect, it } from "vitest";
import { startServer } from "../harness/server.js";

describe("graceful shutdown", () => {
  it("lets an in-flight request finish, then refuses new connections and closes the database", async () => {
    let entered!: () => void;
    const inside = new Promise<void>((r) => {
      entered = r;
    });
    const server = await startServer(
      { shutdownTimeoutMs: 5000 },
      {
        beforeListen: (b) =>
          b.server.get("/api/__slow", async () => {
            entered();
            await new Promise((r) => setTimeout(r, 400));
            return { done: true };
          }),
      },
    );
    const slow = server.fetch("/api/__slow");
    await inside;
    const closing = server.stop();
    const res = await slow;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ done: true });
    await closing;
    await expect(fetch(`${server.url}/api/health`)).rejects.toThrow();
    await expect(server.basalt.app.db.get("SELECT 1")).rejects.toThrow();
  });

  it("bounds the wait: a request that outlives the timeout is cut off", async () => {
    const server = await startServer(
      { shutdownTimeoutMs: 200 },
      {
        beforeListen: (b) =>
          b.server.get("/api/__stuck", async () => {
            await new Promise((r) => setTimeout(r, 5000));
            return {};
          }),
      },
    );
    const stuck = server.fetch("/api/__stuck").then(
      (r) => r.status,
      () => "cut",
    );
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await server.stop();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await stuck).toBe("cut");
  });
});
