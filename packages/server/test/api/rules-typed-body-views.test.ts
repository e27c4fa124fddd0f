import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../harness/fixtures/users.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";

// Issue 10, items 5 and 6: rules see the body as the fields parse it, and view collections keep hidden
// fields (token keys, password hashes, non-public e-mails) hidden.

let server: TestServer;
let su = "";

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

async function create(collection: string, body: unknown, token?: string): Promise<Response> {
  return server.fetch(`/api/collections/${collection}/records`, { method: "POST", json: body, token });
}

beforeAll(async () => {
  server = await startServer();
  su = await superuserToken(server);
  const res = await server.fetch("/api/collections", {
    method: "POST",
    token: su,
    json: {
      name: "flags",
      type: "base",
      listRule: "",
      viewRule: "",
      createRule:
        "@request.body.admin != true && (@request.body.level:isset = false || @request.body.level < 5)",
      updateRule: "@request.body.admin:changed = false && @request.body.level:changed = false",
      fields: [
        { name: "admin", type: "bool" },
        { name: "level", type: "number" },
        { name: "note", type: "text" },
      ],
    },
  });
  expect(res.status).toBe(200);
});
afterAll(() => server.stop());

describe("typed @request.body in rules", () => {
  it("compares a bool the way the field stores it", async () => {
    for (const admin of ["TRUE", "True", "1", 1, true]) {
      const res = await create("flags", { admin });
      expect(res.status, `admin=${JSON.stringify(admin)}`).toBe(400);
    }
    const ok = await create("flags", { admin: "FALSE", note: "x" });
    expect(ok.status).toBe(200);
    expect(await json(ok)).toMatchObject({ admin: false });
  });

  it("compares a number the way the field stores it", async () => {
    expect((await create("flags", { level: "10" })).status).toBe(400);
    expect((await create("flags", { level: " 5 " })).status).toBe(400);
    const ok = await create("flags", { level: "3" });
    expect(ok.status).toBe(200);
    expect(await json(ok)).toMatchObject({ level: 3 });
  });

  it("sees :changed on the parsed value", async () => {
    const { id } = (await json(await create("flags", { note: "mine" }))) as { id: string };
    const patch = (body: unknown) =>
      server.fetch(`/api/collections/flags/records/${id}`, { method: "PATCH", json: body });
    // "TRUE" would store true: a change, refused
    expect((await patch({ admin: "TRUE" })).status).toBe(404);
    // "false" and "0" store false: no change, allowed
    expect((await patch({ admin: "false", level: "0", note: "edited" })).status).toBe(200);
    const stored = await json(await server.fetch(`/api/collections/flags/records/${id}`));
    expect(stored).toMatchObject({ admin: false, level: 0, note: "edited" });
  });
});

describe("view collections keep hidden fields hidden", () => {
  let userId = "";

  beforeAll(async () => {
    userId = await createUser(server, "hidden@example.com", "hidden-password-1");
    const secrets = await server.fetch("/api/collections", {
      method: "POST",
      token: su,
      json: {
        name: "secrets",
        type: "base",
        fields: [
          { name: "label", type: "text" },
          { name: "code", type: "text", hidden: true },
        ],
      },
    });
    expect(secrets.status).toBe(200);
    expect((await create("secrets", { label: "l", code: "s3cret" }, su)).status).toBe(200);
    for (const [name, viewQuery] of [
      ["people", 'SELECT id, email, "tokenKey", password, verified, "emailVisibility" FROM users'],
      ["secret_view", "SELECT id, label, code FROM secrets"],
    ]) {
      const res = await server.fetch("/api/collections", {
        method: "POST",
        token: su,
        json: { name, type: "view", listRule: "", viewRule: "", viewQuery },
      });
      expect(res.status).toBe(200);
    }
  });

  it("never shows a token key or password hash, and shows e-mails and hidden fields only to superusers", async () => {
    const guest = await json(await server.fetch("/api/collections/people/records"));
    const items = guest.items as Record<string, unknown>[];
    expect(items).toHaveLength(1);
    expect(items[0].id).toBe(userId);
    for (const key of ["email", "tokenKey", "password"]) expect(items[0]).not.toHaveProperty(key);
    const one = await json(await server.fetch(`/api/collections/people/records/${userId}`));
    for (const key of ["email", "tokenKey", "password"]) expect(one).not.toHaveProperty(key);

    const admin = await json(await server.fetch("/api/collections/people/records", { token: su }));
    const row = (admin.items as Record<string, unknown>[])[0];
    expect(row.email).toBe("hidden@example.com");
    expect(row).not.toHaveProperty("tokenKey");
    expect(row).not.toHaveProperty("password");

    const hidden = await json(await server.fetch("/api/collections/secret_view/records"));
    expect((hidden.items as Record<string, unknown>[])[0]).toEqual(
      expect.not.objectContaining({ code: expect.anything() }),
    );
    const shown = await json(await server.fetch("/api/collections/secret_view/records", { token: su }));
    expect((shown.items as Record<string, unknown>[])[0]).toMatchObject({ label: "l", code: "s3cret" });
  });

  it("refuses filters and sorts on the hidden fields of a view for non-superusers", async () => {
    for (const q of [
      `filter=${encodeURIComponent("tokenKey != ''")}`,
      `filter=${encodeURIComponent("email ~ 'hidden'")}`,
      `filter=${encodeURIComponent("password != ''")}`,
      "sort=tokenKey",
      `filter=${encodeURIComponent("code = 's3cret'")}`,
    ]) {
      const coll = q.includes("code") ? "secret_view" : "people";
      const res = await server.fetch(`/api/collections/${coll}/records?${q}`);
      expect(res.status, q).toBe(400);
    }
    expect((await server.fetch("/api/health")).status).toBe(200);
  });
});

describe("views saved before hidden fields were kept", () => {
  it("hides their token keys, password hashes and e-mails at the next start", async () => {
    const first = await startServer();
    let second: TestServer | undefined;
    try {
      const token = await superuserToken(first);
      await createUser(first, "old@example.com", "old-password-123");
      const res = await first.fetch("/api/collections", {
        method: "POST",
        token,
        json: {
          name: "old_people",
          type: "view",
          listRule: "",
          viewQuery: 'SELECT id, email, "tokenKey", password FROM users',
        },
      });
      expect(res.status).toBe(200);
      // what an older Basalt stored: every copied field visible, the hash as a json field
      const db = first.basalt.app.db;
      const row = await db.get<{ fields: string }>(`SELECT fields FROM "_collections" WHERE name = ?`, [
        "old_people",
      ]);
      const fields = (JSON.parse(String(row?.fields)) as Record<string, unknown>[]).map((f) =>
        f.name === "password" ? { ...f, type: "json", hidden: false } : { ...f, hidden: false },
      );
      await db.run(`UPDATE "_collections" SET fields = ? WHERE name = ?`, [
        JSON.stringify(fields),
        "old_people",
      ]);
      await first.basalt.close();

      second = await startServer({ dbUrl: first.basalt.app.config.dbUrl }, { dataDir: first.dataDir });
      const list = await json(await second.fetch("/api/collections/old_people/records"));
      const item = (list.items as Record<string, unknown>[])[0];
      expect(item.id).toBeTruthy();
      for (const key of ["email", "tokenKey", "password"]) expect(item).not.toHaveProperty(key);
    } finally {
      await second?.stop();
      await first.stop().catch(() => undefined);
    }
  });
});
