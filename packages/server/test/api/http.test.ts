import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runScenarios } from "../harness/scenario.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";

let server: TestServer;
let token = "";
beforeAll(async () => {
  server = await startServer(
    { bodyLimit: 64 * 1024, origins: ["https://app.example.com"] },
    {
      beforeListen: (basalt) =>
        basalt.server.get("/api/__test_throw", async () => {
          throw new Error("secret internal detail at /some/path.ts:12");
        }),
    },
  );
  token = await superuserToken(server);
});
afterAll(() => server.stop());

describe("HTTP basics", () => {
  runScenarios(
    () => server,
    [
      {
        name: "health answers as PocketBase does",
        method: "GET",
        url: "/api/health",
        status: 200,
        json: { message: "API is healthy.", code: 200, data: {} },
      },
      {
        name: "health shows diagnostics to superusers",
        method: "GET",
        url: "/api/health",
        token: () => token,
        status: 200,
        json: { code: 200, data: { canBackup: true, realIP: "127.0.0.1" } },
      },
      {
        name: "unknown route is a PocketBase-shaped 404",
        method: "GET",
        url: "/api/does-not-exist",
        status: 404,
        json: { status: 404, message: "The requested resource wasn't found.", data: {} },
      },
      {
        name: "invalid JSON is a 400 without parser details",
        method: "POST",
        url: "/api/collections",
        token: () => token,
        body: '{"name": ',
        status: 400,
        json: { status: 400, data: {} },
        notContains: ["SyntaxError", "at JSON.parse", "Unexpected"],
      },
      {
        name: "a body over the limit is a 413 in PocketBase's shape",
        method: "POST",
        url: "/api/collections",
        token: () => token,
        body: { name: "x".repeat(70 * 1024) },
        status: 413,
        json: { status: 413, data: {} },
      },
      {
        name: "__proto__ keys in JSON bodies are dropped, not applied",
        method: "POST",
        url: "/api/collections",
        token: () => token,
        body: '{"name":"protoposts","type":"base","__proto__":{"system":true},"constructor":{"prototype":{"x":1}}}',
        status: 200,
        json: { name: "protoposts", system: false },
      },
    ],
  );

  it("sends security headers, a request id and CORS for allowed origins only", async () => {
    const res = await server.fetch("/api/health", { headers: { origin: "https://app.example.com" } });
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(res.headers.get("x-request-id")).toMatch(/^[\w-]{8,}$/);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    const other = await server.fetch("/api/health", { headers: { origin: "https://evil.example.com" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const echoed = await server.fetch("/api/health", { headers: { "x-request-id": "trace-abc.123" } });
    expect(echoed.headers.get("x-request-id")).toBe("trace-abc.123");
  });

  it("answers a CORS preflight", async () => {
    const res = await server.fetch("/api/collections", {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example.com",
        "access-control-request-method": "PATCH",
        "access-control-request-headers": "authorization,content-type",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-methods")).toContain("PATCH");
  });

  it("maps an unexpected exception to a 500 without a stack trace", async () => {
    const res = await server.fetch("/api/__test_throw");
    const body = await res.text();
    expect(res.status).toBe(500);
    expect(JSON.parse(body)).toEqual({
      status: 500,
      message: "Something went wrong while processing your request.",
      data: {},
    });
    expect(body).not.toContain("secret internal detail");
  });
});
