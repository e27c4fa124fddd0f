import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, superuserSdk, superuserToken, type TestServer } from "../harness/server.js";
import { openSse, type RawSse } from "../harness/sse.js";

const TOKEN = "scrape-secret-123";

/** The samples of a Prometheus text exposition: `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

function find(
  all: Map<string, number>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const [key, value] of all) {
    const brace = key.indexOf("{");
    if ((brace < 0 ? key : key.slice(0, brace)) !== name) continue;
    if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) return value;
  }
  return undefined;
}

describe("Prometheus metrics", () => {
  let server: TestServer;
  let sse: RawSse;
  beforeAll(async () => {
    server = await startServer({ metrics: true, metricsToken: TOKEN });
  });
  afterAll(async () => {
    sse?.close();
    await server.stop();
  });

  it("is off unless turned on", async () => {
    const plain = await startServer();
    try {
      expect((await plain.fetch("/api/metrics")).status).toBe(404);
      expect(plain.basalt.app.metrics).toBeNull();
    } finally {
      await plain.stop();
    }
  });

  it("needs the bearer token (or a superuser) when one is set", async () => {
    expect((await server.fetch("/api/metrics")).status).toBe(401);
    expect((await server.fetch("/api/metrics", { headers: { authorization: "Bearer wrong" } })).status).toBe(
      401,
    );
    const ok = await server.fetch("/api/metrics", { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect((await server.fetch("/api/metrics", { token: await superuserToken(server) })).status).toBe(200);
  });

  it("shows per-route histograms and the app's figures after load", async () => {
    const pb = await superuserSdk(server);
    await pb.collections.create({
      name: "posts",
      type: "base",
      fields: [{ name: "title", type: "text" }],
      listRule: "",
      viewRule: "",
      createRule: "",
    });
    const ids: string[] = [];
    for (let round = 0; round < 5; round++) {
      const created = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          server.fetch("/api/collections/posts/records", {
            method: "POST",
            json: { title: `p${round}-${i}` },
          }),
        ),
      );
      for (const r of created) ids.push(((await r.json()) as { id: string }).id);
    }
    await Promise.all(ids.map((id) => server.fetch(`/api/collections/posts/records/${id}`)));
    await Promise.all(
      Array.from({ length: 5 }, () => server.fetch('/api/collections/posts/records?filter=title~"p1"')),
    );
    for (let i = 0; i < 3; i++) await server.fetch(`/api/collections/posts/records/missing${i}`);
    await server.fetch("/api/no/such/route");
    sse = await openSse(server.url);
    const sub = await server.fetch("/api/realtime", {
      method: "POST",
      json: { clientId: sse.clientId, subscriptions: ["posts", "posts/x"] },
    });
    expect(sub.status).toBe(204);
    await server.basalt.app.jobs.enqueue("reports", { n: 1 });

    const res = await server.fetch("/api/metrics", { headers: { authorization: `Bearer ${TOKEN}` } });
    const text = await res.text();
    const all = samples(text);
    const view = { method: "GET", route: "/api/collections/:collection/records/:id" };
    expect(find(all, "basalt_http_request_duration_seconds_count", { ...view, status: "2xx" })).toBe(50);
    expect(find(all, "basalt_http_request_duration_seconds_count", { ...view, status: "4xx" })).toBe(3);
    expect(
      find(all, "basalt_http_request_duration_seconds_bucket", { ...view, status: "2xx", le: "+Inf" }),
    ).toBe(50);
    expect(
      find(all, "basalt_http_request_duration_seconds_count", {
        method: "POST",
        route: "/api/collections/:collection/records",
        status: "2xx",
      }),
    ).toBe(50);
    expect(
      find(all, "basalt_http_request_duration_seconds_count", { route: "unmatched", status: "4xx" }),
    ).toBe(1);
    // route templates only: no record id or raw URL ever becomes a label
    for (const id of ids.slice(0, 5)) expect(text).not.toContain(id);
    expect(text).not.toContain("missing0");
    expect(text).not.toContain("/api/no/such/route");
    // the open realtime stream and the scrape itself are in flight
    expect(find(all, "basalt_http_requests_in_flight")).toBe(2);
    expect(find(all, "basalt_db_query_duration_seconds_count", { kind: "select" })).toBeGreaterThan(50);
    expect(find(all, "basalt_db_query_duration_seconds_count", { kind: "insert" })).toBeGreaterThanOrEqual(
      50,
    );
    expect(find(all, "basalt_rules_compile_cache_total", { result: "hit" })).toBeGreaterThan(0);
    expect(find(all, "basalt_rules_compile_cache_total", { result: "miss" })).toBeGreaterThan(0);
    expect(find(all, "basalt_realtime_clients")).toBe(1);
    expect(find(all, "basalt_realtime_subscriptions")).toBe(2);
    expect(find(all, "basalt_realtime_dropped_clients_total")).toBe(0);
    expect(find(all, "basalt_jobs_pending", { queue: "reports" })).toBe(1);
    expect(find(all, "basalt_jobs_oldest_pending_age_seconds", { queue: "reports" })).toBeGreaterThanOrEqual(
      0,
    );
    expect(find(all, "basalt_webhook_deliveries_total", { outcome: "delivered" })).toBe(0);
    expect(find(all, "basalt_logs_dropped_total")).toBe(0);
    expect(find(all, "basalt_nodejs_eventloop_lag_seconds")).toBeGreaterThanOrEqual(0);
    expect(find(all, "basalt_process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(find(all, "basalt_process_resident_memory_bytes")).toBeGreaterThan(0);

    // counters only grow between scrapes
    await server.fetch(`/api/collections/posts/records/${ids[0]}`);
    const again = samples(
      await (await server.fetch("/api/metrics", { headers: { authorization: `Bearer ${TOKEN}` } })).text(),
    );
    expect(find(again, "basalt_http_request_duration_seconds_count", { ...view, status: "2xx" })).toBe(51);
    expect(find(again, "basalt_rules_compile_cache_total", { result: "hit" })).toBeGreaterThanOrEqual(
      find(all, "basalt_rules_compile_cache_total", { result: "hit" })!,
    );
    // scrapes are not stored in the request logs
    await server.basalt.app.logs.flush();
    const logged = await server.basalt.app.logs.store.list({
      filter: 'data.url ~ "/api/metrics" && data.status = 200',
      sort: "",
      page: 1,
      perPage: 10,
      skipTotal: false,
    });
    expect(logged.totalItems).toBe(0);
  });
});
