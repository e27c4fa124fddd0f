import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HooksProject, hooksProject } from "../harness/hooks-project.js";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "../harness/otlp-receiver.js";
import { startServer, superuserSdk, superuserToken, type TestServer } from "../harness/server.js";
import { waitFor } from "../harness/wait.js";

const SERVER = 2;
const CLIENT = 3;
const CONSUMER = 5;
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";
const TRACE2 = "0af7651916cd43dd8448eb211c80319c";

describe("OpenTelemetry traces over OTLP", () => {
  let receiver: OtlpReceiver;
  let server: TestServer;
  let hookTarget: Server;
  let hookUrl = "";
  let project: HooksProject;
  const hookHeaders: IncomingHttpHeaders[] = [];
  const saved = { ...process.env };

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    hookTarget = createServer((req, res) => {
      hookHeaders.push(req.headers);
      req.resume();
      req.on("end", () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => hookTarget.listen(0, "127.0.0.1", r));
    hookUrl = `http://127.0.0.1:${(hookTarget.address() as AddressInfo).port}/hook`;
    // the standard variables are all it takes
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = `${receiver.url}/v1/traces`;
    process.env.OTEL_SERVICE_NAME = "basalt-under-test";
    process.env.OTEL_RESOURCE_ATTRIBUTES = "deployment.environment=test";
    // a hook with a span of its own, inside the hook's span, inside the request's
    project = hooksProject({
      "main.ts": `
import type { HookApi } from "basalt";
export default function (app: HookApi) {
  app.onRecordCreate(
    (e) => app.tracer.span("price lookup", { "shop.sku": "A-1" }, () => e.next()),
    { collections: ["notes"] },
  );
}
`,
    });
    server = await startServer({
      jobsPollMs: 20,
      webhookAllowedTargets: ["loopback"],
      hooksDir: project.hooksDir,
    });
  });
  afterAll(async () => {
    process.env = saved;
    await server?.stop();
    project?.remove();
    await receiver?.close();
    await new Promise((r) => hookTarget.close(r));
  });

  const flushed = async (check: (spans: ReceivedSpan[]) => boolean, what: string) => {
    await waitFor(async () => {
      await server.basalt.app.tracing!.flush();
      return check(receiver.spans);
    }, what);
    return receiver.spans;
  };

  it("is off without the OTEL variables", async () => {
    expect(server.basalt.app.tracing).not.toBeNull();
    const env = { ...process.env };
    delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    try {
      const plain = await startServer();
      expect(plain.basalt.app.tracing).toBeNull();
      await plain.stop();
    } finally {
      process.env = env;
    }
  });

  it("sends a server span per request, continuing traceparent, with SQL and rule-compile children", async () => {
    const pb = await superuserSdk(server);
    await pb.collections.create({
      name: "notes",
      type: "base",
      fields: [{ name: "title", type: "text" }],
      viewRule: 'title != "hidden"',
      createRule: "",
    });
    const created = await server.fetch("/api/collections/notes/records", {
      method: "POST",
      json: { title: "secret-title-value" },
    });
    expect(created.status).toBe(200);
    const id = ((await created.json()) as { id: string }).id;
    const view = await server.fetch(`/api/collections/notes/records/${id}`, {
      headers: { traceparent: `00-${TRACE}-${PARENT}-01`, "x-request-id": "req-trace-1" },
    });
    expect(view.status).toBe(200);

    const spans = await flushed(
      (s) => s.some((x) => x.traceId === TRACE && x.kind === SERVER),
      "the view request's server span",
    );
    const root = spans.find((s) => s.traceId === TRACE && s.kind === SERVER)!;
    expect(root).toMatchObject({
      name: "GET /api/collections/:collection/records/:id",
      parentSpanId: PARENT,
      attributes: {
        "http.request.method": "GET",
        "http.route": "/api/collections/:collection/records/:id",
        "http.response.status_code": 200,
        "basalt.request.id": "req-trace-1",
      },
      resource: { "service.name": "basalt-under-test", "deployment.environment": "test" },
    });
    expect(receiver.contentTypes[0]).toMatch(/application\/json/);
    const children = spans.filter((s) => s.parentSpanId === root.spanId);
    const compile = children.find((s) => s.name === "rules compile");
    expect(compile?.attributes["basalt.collection"]).toMatch(/^pbc_/);
    const select = children.find((s) => s.name === "SELECT")!;
    expect(select.attributes["db.operation.name"]).toBe("SELECT");
    expect(select.traceId).toBe(TRACE);
    // statement shape only: placeholders, never the values (the id is in the server span's url.path only)
    expect(String(select.attributes["db.query.text"])).toContain("?");
    for (const s of spans.filter((x) => x.kind !== SERVER))
      expect(JSON.stringify(s.attributes)).not.toContain(id);

    // a request with a body: its handler's spans still hang off its own server span
    const post = spans.find(
      (s) => s.kind === SERVER && s.name === "POST /api/collections/:collection/records",
    )!;
    expect(post.parentSpanId).toBe("");
    // the hook's span, the span its code opened, and the INSERT the chain ran, nested in that order
    const hook = spans.find((s) => s.parentSpanId === post.spanId && s.name === "hook onRecordCreate")!;
    expect(hook.attributes["basalt.hook"]).toBe("onRecordCreate");
    const own = spans.find((s) => s.parentSpanId === hook.spanId && s.name === "price lookup")!;
    expect(own.attributes["shop.sku"]).toBe("A-1");
    const insert = spans.find((s) => s.parentSpanId === own.spanId && s.name === "INSERT");
    expect(insert?.traceId).toBe(post.traceId);
    for (const s of spans) expect(JSON.stringify(s.attributes)).not.toContain("secret-title-value");
  });

  it("marks failures, and names unmatched routes by method only", async () => {
    const token = await superuserToken(server);
    await server.fetch("/api/no/such/thing", { token });
    const spans = await flushed(
      (s) => s.some((x) => x.kind === SERVER && x.attributes["url.path"] === "/api/no/such/thing"),
      "the 404 span",
    );
    const span = spans.find((x) => x.attributes["url.path"] === "/api/no/such/thing")!;
    expect(span.name).toBe("GET");
    expect(span.attributes["http.response.status_code"]).toBe(404);
  });

  it("traces jobs, outbound webhooks (sending traceparent) and e-mail", async () => {
    const token = await superuserToken(server);
    const hook = await server.fetch("/api/webhooks", {
      method: "POST",
      token,
      json: { url: hookUrl, collections: ["notes"], events: ["create"] },
    });
    expect(hook.status).toBe(200);
    const created = await server.fetch("/api/collections/notes/records", {
      method: "POST",
      json: { title: "hooked" },
      headers: { traceparent: `00-${TRACE2}-${PARENT}-01` },
    });
    expect(created.status).toBe(200);
    await waitFor(() => hookHeaders.length > 0, "the webhook delivery");
    const traceparent = String(hookHeaders[0].traceparent);
    const [, traceId, spanId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(traceparent) ?? [];
    expect(traceId).toBeDefined();

    // the job's span ends after the delivery's: wait for the client span and its parent
    const spans = await flushed((s) => {
      const sent = s.find((x) => x.spanId === spanId);
      return sent !== undefined && s.some((x) => x.spanId === sent.parentSpanId);
    }, "the webhook's client span and its job span");
    const client = spans.find((s) => s.spanId === spanId)!;
    expect(client).toMatchObject({
      name: "POST",
      kind: CLIENT,
      traceId,
      attributes: { "http.request.method": "POST", "http.response.status_code": 204, "url.full": hookUrl },
    });
    const job = spans.find((s) => s.spanId === client.parentSpanId)!;
    expect(job).toMatchObject({ name: "job _webhooks", kind: CONSUMER });
    expect(job.attributes["messaging.destination.name"]).toBe("_webhooks");
    // the delivery job continues the trace of the request whose write it reports
    expect(traceId).toBe(TRACE2);
    const request = spans.find((s) => s.traceId === TRACE2 && s.kind === SERVER)!;
    expect(request.name).toBe("POST /api/collections/:collection/records");
    const ancestors = (span: ReceivedSpan): string[] => {
      const parent = spans.find((x) => x.spanId === span.parentSpanId);
      return parent ? [parent.spanId, ...ancestors(parent)] : [];
    };
    expect(ancestors(job)).toContain(request.spanId);

    // e-mail goes through its own job
    const pb = await superuserSdk(server);
    await pb.collection("users").create({
      email: "trace@example.com",
      password: "trace-password-1",
      passwordConfirm: "trace-password-1",
    });
    await server.fetch("/api/collections/users/request-password-reset", {
      method: "POST",
      json: { email: "trace@example.com" },
    });
    const all = await flushed((s) => {
      const sent = s.find((x) => x.name === "email send");
      return sent !== undefined && s.some((x) => x.spanId === sent.parentSpanId);
    }, "the e-mail span and its job span");
    const send = all.find((s) => s.name === "email send")!;
    const mailJob = all.find((s) => s.spanId === send.parentSpanId)!;
    expect(mailJob.name).toMatch(/^job /);
    expect(mailJob.kind).toBe(CONSUMER);
    // in the trace of the reset request that queued the e-mail
    const resetRequest = all.find(
      (s) => s.name === "POST /api/collections/:collection/request-password-reset",
    );
    expect(resetRequest?.kind).toBe(SERVER);
    expect(mailJob.traceId).toBe(resetRequest?.traceId);
  });
});
