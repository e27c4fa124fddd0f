import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import PocketBase from "pocketbase";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type OtlpReceiver, startOtlpReceiver } from "../harness/otlp-receiver.js";
import { waitFor } from "../harness/wait.js";
import { serve } from "./cli-helpers.js";

let cwd: string;
let receiver: OtlpReceiver | undefined;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), "basalt-log-"));
});
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
  rmSync(cwd, { recursive: true, force: true });
});

const TRACE = "0af7651916cd43dd8448eb211c80319c";

describe("process log", () => {
  it("writes one JSON line per request with its request id and trace id, never a token", async () => {
    receiver = await startOtlpReceiver();
    const served = await serve(["--log-level", "info"], cwd, {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
      OTEL_BSP_SCHEDULE_DELAY: "50",
    });
    try {
      const res = await fetch(`${served.url}/api/files/c/r/a.png?token=tok-should-not-show`, {
        headers: { "x-request-id": "req-log-1", traceparent: `00-${TRACE}-b7ad6b7169203331-01` },
      });
      expect(res.status).toBe(404);
      const line = await waitFor(
        () =>
          served
            .output()
            .split("\n")
            .find((l) => l.includes('"reqId":"req-log-1"') && l.includes('"msg":"request"')),
        "the request line",
      );
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(entry).toMatchObject({
        reqId: "req-log-1",
        traceId: TRACE,
        method: "GET",
        status: 404,
        url: "/api/files/c/r/a.png?token=[redacted]",
        msg: "request",
      });
      expect(served.output()).not.toContain("tok-should-not-show");
      // the same trace reaches the OTLP receiver
      await waitFor(() => receiver!.spans.some((s) => s.traceId === TRACE), "the exported span");
    } finally {
      served.child.kill("SIGTERM");
      await served.exited;
    }
  });

  it("prints readable lines with --log-format pretty", async () => {
    const served = await serve(["--log-level", "info", "--log-format", "pretty"], cwd);
    try {
      await fetch(`${served.url}/api/health`, { headers: { "x-request-id": "req-pretty-1" } });
      const line = await waitFor(
        () =>
          served
            .output()
            .split("\n")
            .find((l) => l.includes("req-pretty-1")),
        "the pretty request line",
      );
      expect(line.trimStart().startsWith("{")).toBe(false);
      expect(line).toMatch(/INFO/);
      expect(line).toMatch(/INFO.*request.*"status":200/);
    } finally {
      served.child.kill("SIGTERM");
      await served.exited;
    }
  });
});

describe("request logs from the built server", () => {
  it("are written by the writer thread into auxiliary.db and read back with pb.logs", async () => {
    const served = await serve([], cwd, {
      BASALT_SUPERUSER_EMAIL: "logs@example.com",
      BASALT_SUPERUSER_PASSWORD: "logs-password-123",
    });
    try {
      for (let i = 0; i < 30; i++) await fetch(`${served.url}/api/health?token=tok-${i}&n=${i}`);
      await fetch(`${served.url}/api/collections/nope/records`);
      const pb = new PocketBase(served.url);
      await pb.collection("_superusers").authWithPassword("logs@example.com", "logs-password-123");
      // the writer's timer writes within a second or so
      const list = await waitFor(async () => {
        const page = await pb.logs.getList(1, 50, { filter: 'data.url ~ "/api/health"' });
        return page.totalItems === 30 ? page : undefined;
      }, "the health entries");
      expect(list.items[0].message).toMatch(/^GET \/api\/health\?token=\[redacted\]&n=\d+$/);
      expect(JSON.stringify(list.items)).not.toContain("tok-");
      const failed = await pb.logs.getList(1, 5, { filter: "level = 8" });
      expect(failed.items[0].data).toMatchObject({ status: 404, error: "Missing collection context." });
      const stats = await pb.logs.getStats();
      expect(stats.reduce((n, s) => n + s.total, 0)).toBeGreaterThanOrEqual(31);
      expect(existsSync(join(cwd, "basalt_data", "auxiliary.db"))).toBe(true);
    } finally {
      served.child.kill("SIGTERM");
      await served.exited;
    }
  });
});
