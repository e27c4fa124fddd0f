import { Validator } from "@seriousme/openapi-schema-validator";
import createClient from "openapi-fetch";
import openapiTS, { astToString } from "openapi-typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Blog, setupBlog } from "../harness/fixtures/blog.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";

let server: TestServer;
let blog: Blog;
let suToken: string;

beforeAll(async () => {
  server = await startServer();
  blog = await setupBlog(server);
  suToken = await superuserToken(server);
  await blog.admin.collections.create({ name: "vault", type: "base", fields: [{ name: "v", type: "text" }] });
  await blog.admin
    .collection("posts")
    .create({ title: "Hello there", author: blog.aliceId, published: true });
});
afterAll(() => server.stop());

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
};

async function documentFor(token?: string): Promise<Doc> {
  const res = await server.fetch("/api/openapi.json", { token });
  expect(res.status).toBe(200);
  return (await res.json()) as Doc;
}

async function validate(doc: unknown) {
  const validator = new Validator();
  return validator.validate(doc as Parameters<Validator["validate"]>[0]);
}

describe("OpenAPI document", () => {
  it("validates as OpenAPI 3.1 for a superuser and lists every collection with its hidden fields", async () => {
    const doc = await documentFor(suToken);
    const result = await validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe("3.1.0");
    for (const p of [
      "/api/collections/posts/records",
      "/api/collections/posts/records/{id}",
      "/api/collections/vault/records",
      "/api/collections/_superusers/auth-with-password",
      "/api/collections/users/auth-refresh",
      "/api/health",
      "/api/batch",
      "/api/realtime",
      "/api/graphql",
    ]) {
      expect(doc.paths).toHaveProperty([p]);
    }
    expect(Object.keys(doc.paths["/api/collections/posts/records"]).sort()).toEqual(["get", "post"]);
    const post = doc.components.schemas.postsRecord.properties ?? {};
    expect(post).toHaveProperty("secretNote");
    expect(post.status).toEqual({ type: "string", enum: ["", "draft", "live"] });
    expect(post.tags).toMatchObject({ type: "array", items: { type: "string" } });
    expect(doc.components.schemas.postsCreate.required).toEqual(["title"]);
    expect(doc.components.schemas.usersRecord.properties).not.toHaveProperty("password");
    expect(doc.components.schemas.usersRecord.properties).not.toHaveProperty("tokenKey");
    expect(doc.components.schemas.usersCreate.properties).toHaveProperty("password");
    const params = (doc.paths["/api/collections/posts/records"].get as { parameters: { name: string }[] })
      .parameters;
    expect(params.map((p) => p.name)).toEqual([
      "page",
      "perPage",
      "sort",
      "filter",
      "skipTotal",
      "expand",
      "fields",
    ]);
  });

  it("shows others only what they may list or view, without hidden fields", async () => {
    for (const token of [undefined, blog.aliceToken]) {
      const doc = await documentFor(token);
      expect((await validate(doc)).valid).toBe(true);
      const paths = Object.keys(doc.paths);
      expect(paths).toContain("/api/collections/posts/records");
      expect(paths).toContain("/api/collections/comments/records/{id}");
      expect(paths.some((p) => p.includes("/vault/"))).toBe(false);
      expect(paths.some((p) => p.includes("/_superusers/"))).toBe(false);
      expect(doc.components.schemas).not.toHaveProperty("vaultRecord");
      expect(doc.components.schemas.postsRecord.properties).not.toHaveProperty("secretNote");
      // comments: no update rule (superusers only), so no PATCH for others
      expect(Object.keys(doc.paths["/api/collections/comments/records/{id}"]).sort()).toEqual([
        "delete",
        "get",
      ]);
    }
  });

  it("follows collection changes", async () => {
    const c = await blog.admin.collections.create({ name: "later", type: "base", listRule: "", fields: [] });
    expect(Object.keys((await documentFor()).paths)).toContain("/api/collections/later/records");
    await blog.admin.collections.delete(c.id);
    expect(Object.keys((await documentFor()).paths)).not.toContain("/api/collections/later/records");
  });

  it("serves the interactive reference page and its assets locally", async () => {
    const page = await server.fetch("/api/docs");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("/api/docs/swagger-ui-bundle.js");
    expect(html).not.toMatch(/https?:\/\//);
    for (const asset of ["/api/docs/swagger-ui-bundle.js", "/api/docs/swagger-ui.css", "/api/docs/init.js"]) {
      const res = await server.fetch(asset);
      expect(res.status).toBe(200);
      expect((await res.text()).length).toBeGreaterThan(20);
    }
  });
});

describe("a generated client", () => {
  it("is generated from the document and calls Basalt", async () => {
    const doc = await documentFor(suToken);
    const types = astToString(await openapiTS(doc as never));
    expect(types).toContain('"/api/collections/posts/records"');
    expect(types).toContain("postsRecord");
    // the typed client (openapi-fetch) over the same paths, signed in as Alice
    type Paths = Record<string, Record<string, unknown>>;
    const client = createClient<Paths>({ baseUrl: server.url, headers: { authorization: blog.aliceToken } });
    const call = client as unknown as {
      GET(path: string, init: unknown): Promise<{ data?: unknown; error?: unknown; response: Response }>;
      POST(path: string, init: unknown): Promise<{ data?: unknown; error?: unknown; response: Response }>;
    };
    const created = await call.POST("/api/collections/posts/records", {
      body: { title: "From the client", author: blog.aliceId, published: true },
    });
    expect(created.response.status).toBe(200);
    const id = (created.data as { id: string }).id;
    const listed = await call.GET("/api/collections/posts/records", {
      params: { query: { filter: "title = 'From the client'", perPage: 5 } },
    });
    expect((listed.data as { items: { id: string }[] }).items.map((i) => i.id)).toEqual([id]);
    const refused = await call.POST("/api/collections/posts/records", {
      body: { title: "x", author: blog.aliceId },
    });
    expect(refused.response.status).toBe(400);
    expect(refused.error).toMatchObject({
      status: 400,
      data: { title: { code: "validation_min_text_constraint" } },
    });
  });
});
