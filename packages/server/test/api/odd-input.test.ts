import type PocketBase from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

// Issue 11, item 6: odd input answers 400 in PocketBase's shape, or is stored so that it reads back as sent.

let server: TestServer;
let su: PocketBase;
beforeAll(async () => {
  server = await startServer();
  su = await superuserSdk(server);
  await su.collections.create({
    name: "odd",
    fields: [
      { name: "title", type: "text" },
      { name: "data", type: "json" },
    ],
    listRule: "",
    viewRule: "",
    createRule: "",
  });
});
afterAll(() => server.stop());

const create = (body: string) =>
  server.fetch("/api/collections/odd/records", {
    method: "POST",
    body,
    headers: { "content-type": "application/json" },
  });

describe("deeply nested JSON", () => {
  it("answers 400 for 30,000 levels, in a record body and a settings body", async () => {
    const deep = `${"[".repeat(30_000)}${"]".repeat(30_000)}`;
    for (const body of [
      `{"data":${deep}}`,
      `{"title":"x","data":${`{"a":`.repeat(30_000)}1${"}".repeat(30_000)}}`,
    ]) {
      const res = await create(body);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ status: 400, data: {} });
    }
    const settings = await server.fetch("/api/settings", {
      method: "PATCH",
      body: `{"meta":${deep}}`,
      headers: { "content-type": "application/json" },
      token: su.authStore.token,
    });
    expect(settings.status).toBe(400);
  });

  it("still stores reasonably nested JSON as sent", async () => {
    const nested = JSON.parse(`${"[".repeat(200)}1${"]".repeat(200)}`);
    const rec = await su.collection("odd").create({ data: nested });
    expect((await su.collection("odd").getOne(rec.id)).data).toEqual(nested);
  });
});

describe("NUL and lone surrogates", () => {
  it("refuse them with 400 in values and keys, and store paired surrogates as sent", async () => {
    for (const body of [
      '{"title":"a\\u0000b"}',
      '{"title":"\\ud800"}',
      '{"title":"x\\udc00y"}',
      '{"data":{"k\\u0000":1}}',
      '{"data":["\\udbff"]}',
    ]) {
      const res = await create(body);
      expect(res.status, body).toBe(400);
      expect(((await res.json()) as { status: number }).status).toBe(400);
    }
    const res = await create('{"title":"emoji \\ud83d\\ude00 ok","data":{"é":"\\ud83d\\ude00"}}');
    expect(res.status).toBe(200);
    const created = (await res.json()) as { id: string; title: string; data: unknown };
    const read = await su.collection("odd").getOne(created.id);
    expect(read.title).toBe(created.title);
    expect(read.title).toBe("emoji 😀 ok");
    expect(read.data).toEqual(created.data);
  });

  it("refuse them in query parameters", async () => {
    const res = await server.fetch(
      `/api/collections/odd/records?filter=${encodeURIComponent("title='a\u0000'")}`,
    );
    expect(res.status).toBe(400);
  });
});

describe("long filters in the URL", () => {
  it("reach the filter parser past Node's 16 KiB header limit: 400 over 3,500 characters, 200 below", async () => {
    // each "é" is 6 bytes once percent-encoded: 3,400 characters make a 20 KB URL
    const below = `title != '${"é".repeat(3_380)}'`;
    expect(below.length).toBeLessThanOrEqual(3_500);
    const ok = await server.fetch(`/api/collections/odd/records?filter=${encodeURIComponent(below)}`);
    expect(ok.status).toBe(200);
    const over = `title != '${"é".repeat(3_600)}'`;
    const res = await server.fetch(`/api/collections/odd/records?filter=${encodeURIComponent(over)}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ status: 400 });
  });
});
