import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
