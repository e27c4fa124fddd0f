import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";

// The dashboard validates a collection draft as you type (issue 17): the checks of create/update, no write.
let server: TestServer;
let token = "";
beforeAll(async () => {
  server = await startServer();
  token = await superuserToken(server);
  const res = await server.fetch("/api/collections", {
    method: "POST",
    token,
    json: { name: "posts", type: "base", fields: [{ name: "title", type: "text" }] },
  });
  expect(res.status).toBe(200);
});
afterAll(() => server.stop());

const validate = (json: unknown, collection?: string, auth: string | undefined = token) =>
  server.fetch(`/api/basalt/collections${collection ? `/${collection}` : ""}/validate`, {
    method: "POST",
    json,
    token: auth,
  });

describe("collection dry run", () => {
  it("is for superusers only", async () => {
    expect((await validate({ name: "x" }, undefined, "")).status).toBe(401);
  });

  it("answers a new collection as it would be saved, and saves nothing", async () => {
    const res = await validate({
      name: "drafts",
      type: "base",
      fields: [{ name: "body", type: "text" }],
      listRule: "body != ''",
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { name: string; fields: { name: string }[] };
    expect(body.name).toBe("drafts");
    expect(body.fields.map((f) => f.name)).toContain("body");
    expect((await server.fetch("/api/collections/drafts", { token })).status).toBe(404);
  });

  it("reports a rule naming an unknown field, as the real update would", async () => {
    const res = await validate({ listRule: "nope = 1", viewRule: "title != ''" }, "posts");
    expect(res.status).toBe(400);
    const body = (await res.json()) as { data: Record<string, { code: string }> };
    expect(Object.keys(body.data)).toEqual(["listRule"]);
    const real = await server.fetch("/api/collections/posts", {
      method: "PATCH",
      token,
      json: { listRule: "nope = 1" },
    });
    expect(real.status).toBe(400);
  });

  it("reports bad names, field options and indexes", async () => {
    const res = await validate({
      name: "bad name",
      type: "base",
      fields: [{ name: "n", type: "number", min: 5, max: 1 }],
      indexes: ["CREATE INDEX idx ON whatever (missing)"],
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { data: Record<string, unknown> };
    expect(body.data).toHaveProperty("name");
  });

  it("infers a view's fields from its query without creating the view", async () => {
    const res = await validate({ name: "titles", type: "view", viewQuery: "SELECT id, title FROM posts" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { fields: { name: string; type: string }[] };
    expect(body.fields.map((f) => [f.name, f.type])).toEqual([
      ["id", "text"],
      ["title", "text"],
    ]);
    expect((await server.fetch("/api/collections/titles", { token })).status).toBe(404);
    const bad = await validate({ name: "titles", type: "view", viewQuery: "SELECT nonsense FROM nowhere" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { data: object }).data).toHaveProperty("viewQuery");
  });
});
