import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";

// Issue 10, item 1: linear-time text processing. `fields=content:excerpt(20)` over a stored 400 KB editor
// value froze the server 15 s (quadratic HTML stripping), and a text field `pattern` like `^(\w+\s?)+$`
// backtracked exponentially on a guest's input.

let server: TestServer;
let su = "";

async function healthy(): Promise<void> {
  expect((await server.fetch("/api/health")).status).toBe(200);
}

beforeAll(async () => {
  server = await startServer();
  su = await superuserToken(server);
  const res = await server.fetch("/api/collections", {
    method: "POST",
    token: su,
    json: {
      name: "notes",
      type: "base",
      listRule: "",
      viewRule: "",
      createRule: "",
      fields: [
        { name: "content", type: "editor", maxSize: 2_000_000 },
        { name: "words", type: "text", pattern: "^(\\w+\\s?)+$" },
      ],
    },
  });
  expect(res.status).toBe(200);
});
afterAll(() => server.stop());

describe("HTML excerpts", () => {
  it("answers an excerpt of a hostile 400 KB editor value at once", async () => {
    const content = [
      "<p>Visible start</p>",
      "<a ".repeat(30_000),
      "<script>".repeat(15_000),
      "<!--".repeat(15_000),
      "&".repeat(40_000),
      "</scriptx".repeat(8_000),
      "<div>".repeat(10_000),
    ].join("");
    expect(content.length).toBeGreaterThan(400_000);
    const created = await server.fetch("/api/collections/notes/records", {
      method: "POST",
      token: su,
      json: { content },
    });
    expect(created.status).toBe(200);
    const { id } = (await created.json()) as { id: string };
    const res = await server.fetch(`/api/collections/notes/records/${id}?fields=id,content:excerpt(20)`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { id: string; content: string };
    expect(body).toEqual({ id, content: expect.stringMatching(/^Visible start/) });
    expect([...body.content].length).toBeLessThanOrEqual(20);
    const list = await server.fetch("/api/collections/notes/records?fields=content:excerpt(50,true)");
    expect(list.status).toBe(200);
    await healthy();
  });
});

describe("text field patterns", () => {
  it("matches the issue's backtracking pattern in linear time on a guest's input", async () => {
    const hostile = `${"a ".repeat(2000)}!`;
    const res = await server.fetch("/api/collections/notes/records", {
      method: "POST",
      json: { words: hostile },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { data: { words: { code: string } } };
    expect(body.data.words.code).toBe("validation_invalid_format");
    const ok = await server.fetch("/api/collections/notes/records", {
      method: "POST",
      json: { words: "just some words" },
    });
    expect(ok.status).toBe(200);
    await healthy();
  });

  it("refuses, when the collection is saved, a pattern RE2 cannot run (look-arounds, back-references)", async () => {
    for (const pattern of ["^(?=.*\\d).+$", "^(a)\\1$"]) {
      const res = await server.fetch("/api/collections", {
        method: "POST",
        token: su,
        json: { name: "bad", type: "base", fields: [{ name: "t", type: "text", pattern }] },
      });
      expect(res.status).toBe(400);
      const text = await res.text();
      expect(text).toContain("validation_invalid_regex");
      expect(text).toContain("RE2");
    }
    expect((await server.fetch("/api/collections/bad", { token: su })).status).toBe(404);
  });
});
