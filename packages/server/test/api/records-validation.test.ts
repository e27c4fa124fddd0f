import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Blog, setupBlog } from "../harness/fixtures/blog.js";
import { runScenarios, type Scenario } from "../harness/scenario.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";

let server: TestServer;
let blog: Blog;
let su = "";
let tagId = "";
let postId = "";

async function countPosts(): Promise<number> {
  const row = await server.basalt.app.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM "posts"');
  return Number(row?.n);
}

beforeAll(async () => {
  server = await startServer();
  blog = await setupBlog(server);
  su = await superuserToken(server);
  tagId = (await blog.admin.collection("tags").create({ label: "news" })).id;
  postId = (
    await blog.admin
      .collection("posts")
      .create({ title: "Existing", slug: "taken", author: blog.aliceId, views: 5, labels: ["a"] })
  ).id;
});
afterAll(() => server.stop());

const base = () => ({ title: "Valid title", author: blog.aliceId });
const err = (field: string, code: string) => ({
  status: 400,
  message: "Failed to create record.",
  data: { [field]: { code } },
});

/** Each case: a body that must be refused with that field's code, and nothing written. */
const INVALID: [string, () => Record<string, unknown>, string, string][] = [
  ["text required", () => ({ ...base(), title: "" }), "title", "validation_required"],
  ["text min", () => ({ ...base(), title: "ab" }), "title", "validation_min_text_constraint"],
  ["text max", () => ({ ...base(), title: "x".repeat(51) }), "title", "validation_max_text_constraint"],
  ["text pattern", () => ({ ...base(), slug: "Not A Slug" }), "slug", "validation_invalid_format"],
  ["text wrong type", () => ({ ...base(), title: { a: 1 } }), "title", "validation_invalid_value"],
  ["number min", () => ({ ...base(), views: -1 }), "views", "validation_min_number_constraint"],
  ["number max", () => ({ ...base(), views: 1001 }), "views", "validation_max_number_constraint"],
  ["number onlyInt", () => ({ ...base(), views: 1.5 }), "views", "validation_only_int_constraint"],
  ["number wrong type", () => ({ ...base(), rating: "lots" }), "rating", "validation_not_a_number"],
  ["bool wrong type", () => ({ ...base(), published: "maybe" }), "published", "validation_invalid_value"],
  ["select unknown value", () => ({ ...base(), status: "gone" }), "status", "validation_invalid_value"],
  [
    "select maxSelect",
    () => ({ ...base(), labels: ["a", "b", "c"] }),
    "labels",
    "validation_too_many_values",
  ],
  [
    "relation missing record",
    () => ({ ...base(), tags: ["nosuchrecord000"] }),
    "tags",
    "validation_missing_rel_records",
  ],
  [
    "relation maxSelect",
    () => ({ ...base(), tags: ["a1", "a2", "a3", "a4", "a5", "a6"] }),
    "tags",
    "validation_too_many_values",
  ],
  ["json size", () => ({ ...base(), meta: { big: "x".repeat(300) } }), "meta", "validation_json_size_limit"],
  ["url format", () => ({ ...base(), homepage: "not a url" }), "homepage", "validation_invalid_url"],
  [
    "url only domains",
    () => ({ ...base(), homepage: "https://other.org/x" }),
    "homepage",
    "validation_url_domain_not_allowed",
  ],
  ["email format", () => ({ ...base(), contact: "nope@" }), "contact", "validation_is_email"],
  [
    "email except domains",
    () => ({ ...base(), contact: "a@spam.test" }),
    "contact",
    "validation_email_domain_not_allowed",
  ],
  [
    "date min",
    () => ({ ...base(), publishAt: "2019-12-31 23:59:59.000Z" }),
    "publishAt",
    "validation_min_greater_equal_than_required",
  ],
  [
    "date max",
    () => ({ ...base(), publishAt: "2031-01-01" }),
    "publishAt",
    "validation_max_less_equal_than_required",
  ],
  ["date wrong type", () => ({ ...base(), publishAt: "yesterday" }), "publishAt", "validation_invalid_date"],
  ["unique index", () => ({ ...base(), slug: "taken" }), "slug", "validation_not_unique"],
  ["id pattern", () => ({ ...base(), id: "UPPER-CASE-ID!!" }), "id", "validation_invalid_format"],
  ["id length", () => ({ ...base(), id: "short" }), "id", "validation_min_text_constraint"],
  ["id already used", () => ({ ...base(), id: postId }), "id", "validation_not_unique"],
];

describe("field validation on create (superuser, so only validation can refuse)", () => {
  const scenarios: Scenario[] = INVALID.map(([name, _body, field, code]) => ({
    name: `${name} → ${code}`,
    method: "POST",
    url: "/api/collections/posts/records",
    token: () => su,
    status: 400,
    json: err(field, code),
  }));
  scenarios.forEach((s, i) => {
    const bodyOf = INVALID[i][1];
    s.before = async () => {
      (s as { count?: number }).count = await countPosts();
      s.body = bodyOf();
    };
    s.after = async () => {
      expect(await countPosts()).toBe((s as { count?: number }).count);
    };
  });
  runScenarios(() => server, scenarios);

  it("keeps the last id of a single relation given several (PocketBase's normalisation)", async () => {
    const p = await blog.admin.collection("posts").create({ ...base(), author: [blog.bobId, blog.aliceId] });
    expect(p.author).toBe(blog.aliceId);
    await blog.admin.collection("posts").delete(p.id);
  });

  it("reports every invalid field at once, keyed by field, with params", async () => {
    const res = await server.fetch("/api/collections/posts/records", {
      method: "POST",
      token: su,
      json: { title: "ab", views: 2000, labels: ["zzz"] },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as {
      data: Record<string, { code: string; message: string; params?: unknown }>;
    };
    expect(body.data.title).toEqual({
      code: "validation_min_text_constraint",
      message: "Must be at least 3 character(s).",
      params: { min: 3 },
    });
    expect(body.data.views.message).toBe("Must be less than 1000.000000.");
    expect(body.data.labels).toEqual({
      code: "validation_invalid_value",
      message: "Invalid value zzz.",
      params: { value: "zzz" },
    });
  });
});

describe("body handling", () => {
  it("ignores unknown keys, autodate values and __proto__/constructor keys", async () => {
    const res = await server.fetch("/api/collections/posts/records", {
      method: "POST",
      token: su,
      json:
        '{"title":"Proto","author":"' +
        blog.aliceId +
        '","nope":1,"created":"2000-01-01 00:00:00.000Z","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
    });
    const rec = (await res.json()) as Record<string, unknown>;
    expect(res.status).toBe(200);
    expect(rec).not.toHaveProperty("nope");
    expect(rec.created).not.toBe("2000-01-01 00:00:00.000Z");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses a non-object body with 400 and writes nothing", async () => {
    const before = await countPosts();
    for (const json of ["[1,2]", '"text"', "{bad json"]) {
      const res = await server.fetch("/api/collections/posts/records", { method: "POST", token: su, json });
      expect(res.status, json).toBe(400);
    }
    expect(await countPosts()).toBe(before);
  });

  it("applies field+, +field and field- modifiers to lists and numbers", async () => {
    const pb = blog.admin.collection("posts");
    let p = await pb.update(postId, { "views+": 10, "labels+": "b" });
    expect(p.views).toBe(15);
    expect(p.labels).toEqual(["a", "b"]);
    p = await pb.update(postId, { "views-": 3, "labels-": ["a"], "+tags": [tagId] });
    expect(p.views).toBe(12);
    expect(p.labels).toEqual(["b"]);
    expect(p.tags).toEqual([tagId]);
    const res = await server.fetch(`/api/collections/posts/records/${postId}`, {
      method: "PATCH",
      token: su,
      json: { "labels+": ["a", "c"] },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { data: { labels: { code: string } } }).data.labels.code).toBe(
      "validation_too_many_values",
    );
    expect((await pb.getOne(postId)).labels).toEqual(["b"]);
  });

  it("lets create and update rules read @request.body after modifiers", async () => {
    await blog.admin.collections.update("tags", { createRule: "@request.body.label != 'forbidden'" });
    const guestCreate = (label: string) =>
      server.fetch("/api/collections/tags/records", { method: "POST", json: { label } });
    expect((await guestCreate("forbidden")).status).toBe(400);
    expect((await guestCreate("allowed")).status).toBe(200);
    await blog.admin.collections.update("tags", { createRule: "label ~ 'ok'" });
    expect((await guestCreate("not fine")).status).toBe(400);
    expect((await guestCreate("is ok")).status).toBe(200);
  });

  it("rejects a huge string and an oversized body with a 4xx, changing nothing", async () => {
    const before = await countPosts();
    const huge = await server.fetch("/api/collections/posts/records", {
      method: "POST",
      token: su,
      json: { ...base(), body: "x".repeat(6 << 20) },
    });
    expect(huge.status).toBe(400);
    expect(await countPosts()).toBe(before);
  });
});
