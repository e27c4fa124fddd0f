import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createUser, userToken } from "../harness/fixtures/users.js";
import { type HooksProject, hooksProject } from "../harness/hooks-project.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";

// Every hook logs its name (and the collection it is about) when it runs; GET /api/test/events hands the log
// over and clears it. Some collections carry behaviour: `guarded` refuses titles, `orders` writes an audit
// record inside the write's transaction and fails afterwards for negative totals.
const MAIN = `
import type { HookApi } from "basalt";
const log: string[] = [];
const NAMES = ${JSON.stringify([
  "onRecordCreateRequest",
  "onRecordUpdateRequest",
  "onRecordDeleteRequest",
  "onRecordViewRequest",
  "onRecordsListRequest",
  "onRecordCreate",
  "onRecordCreateExecute",
  "onRecordAfterCreateSuccess",
  "onRecordAfterCreateError",
  "onRecordUpdate",
  "onRecordUpdateExecute",
  "onRecordAfterUpdateSuccess",
  "onRecordAfterUpdateError",
  "onRecordDelete",
  "onRecordDeleteExecute",
  "onRecordAfterDeleteSuccess",
  "onRecordAfterDeleteError",
  "onRecordValidate",
  "onRecordEnrich",
  "onBatchRequest",
  "onRecordAuthWithPasswordRequest",
  "onRecordAuthRequest",
  "onRecordRequestPasswordResetRequest",
  "onRecordConfirmPasswordResetRequest",
  "onRecordRequestVerificationRequest",
  "onRecordConfirmVerificationRequest",
  "onMailerSend",
  "onMailerRecordPasswordResetSend",
  "onMailerRecordVerificationSend",
  "onCollectionCreateRequest",
  "onCollectionCreate",
  "onCollectionAfterCreateSuccess",
  "onSettingsUpdateRequest",
])} as const;

export default function (app: HookApi) {
  for (const name of NAMES) {
    (app[name] as (h: (e: any) => unknown) => string)((e) => {
      const c = e.collection?.name;
      if (c === "_superusers" || c === "_mfas" || c === "_otps") return e.next();
      // records loaded by expand are marked: PocketBase runs onRecordEnrich on them in the expand context
      log.push((c ? name + ":" + c : name) + (e.context === "expand" ? "@expand" : ""));
      return e.next();
    });
  }
  app.onRecordCreate(
    (e) => {
      if (e.record.title === "forbidden")
        throw new app.errors.ApiError(400, "Titles like that are refused.", {
          title: app.errors.fieldError("validation_refused", "Refused."),
        });
      if (e.record.title === "crash") throw new Error("the hook crashed");
      e.record.title = String(e.record.title).trim();
      return e.next();
    },
    { collections: ["guarded"], priority: -10 },
  );
  app.onRecordCreate(
    async (e) => {
      await e.tx.create("audit", { note: "order " + e.record.total });
      await e.next();
      if (Number(e.record.total) < 0) throw new app.errors.ApiError(400, "Negative totals are refused.");
    },
    { collections: ["orders"] },
  );
  const skipped = app.onRecordCreate((e) => e.next(), { collections: ["orders"], id: "to-unbind" });
  app.hooks.onRecordCreate.unbind(skipped);
  app.router.get("/api/test/events", () => log.splice(0));
}
`;

let project: HooksProject;
let server: TestServer;
let su: string;
let aliceToken: string;

async function events(): Promise<string[]> {
  return (await (await server.fetch("/api/test/events")).json()) as string[];
}

async function json(path: string, method: string, body?: unknown, token = su) {
  const res = await server.fetch(path, { method, json: body, token });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  project = hooksProject({ "main.ts": MAIN });
  server = await startServer({ hooksDir: project.hooksDir });
  su = await superuserToken(server);
  const admin = async (body: unknown) =>
    expect((await json("/api/collections", "POST", body)).status).toBe(200);
  await admin({
    name: "posts",
    type: "base",
    listRule: "",
    viewRule: "",
    createRule: "",
    updateRule: "",
    deleteRule: "",
    fields: [{ name: "title", type: "text" }],
  });
  const posts = server.basalt.app.collections.get("posts");
  await admin({
    name: "comments",
    type: "base",
    listRule: "",
    deleteRule: "",
    fields: [
      { name: "text", type: "text" },
      { name: "post", type: "relation", collectionId: posts.id, cascadeDelete: true, maxSelect: 1 },
    ],
  });
  await admin({
    name: "guarded",
    type: "base",
    createRule: "",
    fields: [{ name: "title", type: "text", min: 3 }],
  });
  await admin({ name: "audit", type: "base", fields: [{ name: "note", type: "text" }] });
  await admin({ name: "orders", type: "base", createRule: "", fields: [{ name: "total", type: "number" }] });
  await createUser(server, "alice@example.com", "alice-password-1");
  aliceToken = await userToken(server, "alice@example.com", "alice-password-1");
  const settings = await json("/api/settings", "PATCH", { batch: { enabled: true, maxRequests: 10 } });
  expect(settings.status).toBe(200);
});

afterAll(async () => {
  await server?.stop();
  project?.remove();
});

beforeEach(async () => {
  await events();
});

describe("event order, PocketBase-style", () => {
  it("REST create: request hook around the model hooks; after-success once committed; enrich on the answer", async () => {
    const res = await json("/api/collections/posts/records", "POST", { title: "hello" }, "");
    expect(res.status).toBe(200);
    expect(await events()).toEqual([
      "onRecordCreateRequest:posts",
      "onRecordCreate:posts",
      "onRecordValidate:posts",
      "onRecordCreateExecute:posts",
      "onRecordAfterCreateSuccess:posts",
      "onRecordEnrich:posts",
    ]);
  });

  it("onRecordEnrich runs for expanded records too (once per record, expand context), both directions", async () => {
    const { body: post } = await json("/api/collections/posts/records", "POST", { title: "parent" }, "");
    for (const text of ["a", "b"])
      expect((await json("/api/collections/comments/records", "POST", { text, post: post.id })).status).toBe(
        200,
      );
    await events();
    const list = await json(
      `/api/collections/comments/records?filter=${encodeURIComponent(`post='${post.id}'`)}&expand=post`,
      "GET",
      undefined,
      "",
    );
    expect(list.body.items.map((c: { expand: { post: { id: string } } }) => c.expand.post.id)).toEqual([
      post.id,
      post.id,
    ]);
    expect((await events()).sort()).toEqual([
      "onRecordEnrich:comments",
      "onRecordEnrich:comments",
      "onRecordEnrich:posts@expand",
      "onRecordsListRequest:comments",
    ]);
    const view = await json(`/api/collections/posts/records/${post.id}?expand=comments_via_post`, "GET");
    expect(view.body.expand.comments_via_post).toHaveLength(2);
    expect((await events()).sort()).toEqual([
      "onRecordEnrich:comments@expand",
      "onRecordEnrich:comments@expand",
      "onRecordEnrich:posts",
      "onRecordViewRequest:posts",
    ]);
  });

  it("REST view, list, update and delete", async () => {
    const { body: post } = await json("/api/collections/posts/records", "POST", { title: "one" }, "");
    await events();
    await json(`/api/collections/posts/records/${post.id}`, "GET", undefined, "");
    expect(await events()).toEqual(["onRecordViewRequest:posts", "onRecordEnrich:posts"]);
    await json("/api/collections/posts/records?perPage=1", "GET", undefined, "");
    expect(await events()).toEqual(["onRecordsListRequest:posts", "onRecordEnrich:posts"]);
    await json(`/api/collections/posts/records/${post.id}`, "PATCH", { title: "two" }, "");
    expect(await events()).toEqual([
      "onRecordUpdateRequest:posts",
      "onRecordUpdate:posts",
      "onRecordValidate:posts",
      "onRecordUpdateExecute:posts",
      "onRecordAfterUpdateSuccess:posts",
      "onRecordEnrich:posts",
    ]);
    expect((await json(`/api/collections/posts/records/${post.id}`, "DELETE", undefined, "")).status).toBe(
      204,
    );
    expect(await events()).toEqual([
      "onRecordDeleteRequest:posts",
      "onRecordDelete:posts",
      "onRecordDeleteExecute:posts",
      "onRecordAfterDeleteSuccess:posts",
    ]);
  });

  it("truncate deletes record by record through the delete hooks (cascade included), as PocketBase does", async () => {
    const { body: post } = await json("/api/collections/posts/records", "POST", { title: "to truncate" }, "");
    await json("/api/collections/comments/records", "POST", { text: "c", post: post.id });
    const count = async (c: string) =>
      (await json(`/api/collections/${c}/records?perPage=1`, "GET")).body.totalItems;
    const posts = await count("posts");
    const comments = await count("comments");
    expect(posts).toBeGreaterThan(0);
    await events();
    expect((await json("/api/collections/posts/truncate", "DELETE")).status).toBe(204);
    const seen = await events();
    const times = (name: string) => seen.filter((x) => x === name).length;
    expect(times("onRecordDelete:posts")).toBe(posts);
    expect(times("onRecordDeleteExecute:posts")).toBe(posts);
    expect(times("onRecordAfterDeleteSuccess:posts")).toBe(posts);
    expect(times("onRecordDelete:comments")).toBe(comments);
    expect(times("onRecordAfterDeleteSuccess:comments")).toBe(comments);
    expect(seen.filter((x) => x.startsWith("onRecordDeleteRequest"))).toEqual([]);
    expect(await count("posts")).toBe(0);
    expect(await count("comments")).toBe(0);
  });

  it("cascade: each dependant's delete hooks run inside the parent's execute, after-success after commit", async () => {
    const { body: post } = await json("/api/collections/posts/records", "POST", { title: "parent" }, "");
    await json("/api/collections/comments/records", "POST", { text: "c", post: post.id });
    await events();
    expect((await json(`/api/collections/posts/records/${post.id}`, "DELETE", undefined, "")).status).toBe(
      204,
    );
    expect(await events()).toEqual([
      "onRecordDeleteRequest:posts",
      "onRecordDelete:posts",
      "onRecordDeleteExecute:posts",
      "onRecordDelete:comments",
      "onRecordDeleteExecute:comments",
      "onRecordAfterDeleteSuccess:comments",
      "onRecordAfterDeleteSuccess:posts",
    ]);
  });

  it("batch: one batch request, each item's request and model hooks in the transaction, after-success after commit", async () => {
    const res = await json("/api/batch", "POST", {
      requests: [
        { method: "POST", url: "/api/collections/posts/records", body: { title: "b1" } },
        { method: "POST", url: "/api/collections/posts/records", body: { title: "b2" } },
      ],
    });
    expect(res.status).toBe(200);
    expect(await events()).toEqual([
      "onBatchRequest",
      "onRecordCreateRequest:posts",
      "onRecordCreate:posts",
      "onRecordValidate:posts",
      "onRecordCreateExecute:posts",
      "onRecordEnrich:posts",
      "onRecordCreateRequest:posts",
      "onRecordCreate:posts",
      "onRecordValidate:posts",
      "onRecordCreateExecute:posts",
      "onRecordEnrich:posts",
      "onRecordAfterCreateSuccess:posts",
      "onRecordAfterCreateSuccess:posts",
    ]);
  });

  it("records from code fire the same hooks as REST", async () => {
    await server.basalt.records.create("posts", { title: "from code" });
    expect(await events()).toEqual([
      "onRecordCreate:posts",
      "onRecordValidate:posts",
      "onRecordCreateExecute:posts",
      "onRecordAfterCreateSuccess:posts",
      "onRecordEnrich:posts",
    ]);
  });

  it("auth flows: password sign-in, reset request (mail hooks) and confirm (model hooks)", async () => {
    const signIn = await json(
      "/api/collections/users/auth-with-password",
      "POST",
      { identity: "alice@example.com", password: "alice-password-1" },
      "",
    );
    expect(signIn.status).toBe(200);
    expect(await events()).toEqual([
      "onRecordAuthWithPasswordRequest:users",
      "onRecordAuthRequest:users",
      "onRecordEnrich:users",
    ]);
    const request = await json(
      "/api/collections/users/request-password-reset",
      "POST",
      { email: "alice@example.com" },
      "",
    );
    expect(request.status).toBe(204);
    await server.basalt.app.mail.idle();
    expect(await events()).toEqual([
      "onRecordRequestPasswordResetRequest:users",
      "onMailerRecordPasswordResetSend:users",
      "onMailerSend",
    ]);
    const users = server.basalt.app.collections.get("users");
    const alice = await server.basalt.app.db.get<Record<string, unknown>>(
      `SELECT * FROM ${server.basalt.app.db.dialect.quoteIdent("users")} WHERE email = ?`,
      ["alice@example.com"],
    );
    const token = server.basalt.app.auth.newToken(users as never, alice as never, "passwordReset");
    const confirm = await json(
      "/api/collections/users/confirm-password-reset",
      "POST",
      { token, password: "alice-password-2", passwordConfirm: "alice-password-2" },
      "",
    );
    expect(confirm.status).toBe(204);
    expect(await events()).toEqual([
      "onRecordConfirmPasswordResetRequest:users",
      "onRecordUpdate:users",
      "onRecordUpdateExecute:users",
      "onRecordAfterUpdateSuccess:users",
    ]);
    aliceToken = await userToken(server, "alice@example.com", "alice-password-2");
    await events();
  });

  it("auth flows: confirming a verification fires the update model hooks", async () => {
    const users = server.basalt.app.collections.get("users");
    const id = await createUser(server, "carol@example.com", "carol-password-1");
    const q = server.basalt.app.db;
    await q.run(`UPDATE ${q.dialect.quoteIdent("users")} SET verified = ? WHERE id = ?`, [false, id]);
    const carol = await q.get<Record<string, unknown>>(
      `SELECT * FROM ${q.dialect.quoteIdent("users")} WHERE id = ?`,
      [id],
    );
    const token = server.basalt.app.auth.newToken(users as never, carol as never, "verification", {
      email: "carol@example.com",
    });
    await events();
    const res = await json("/api/collections/users/confirm-verification", "POST", { token }, "");
    expect(res.status).toBe(204);
    expect(await events()).toEqual([
      "onRecordConfirmVerificationRequest:users",
      "onRecordUpdate:users",
      "onRecordUpdateExecute:users",
      "onRecordAfterUpdateSuccess:users",
    ]);
    expect((await server.basalt.records.findOne("users", id))?.verified).toBe(true);
  });

  it("collection and settings requests", async () => {
    await json("/api/collections", "POST", { name: "extra", type: "base", fields: [] });
    expect(await events()).toEqual([
      "onCollectionCreateRequest",
      "onCollectionCreate:extra",
      "onCollectionAfterCreateSuccess:extra",
    ]);
    await json("/api/settings", "PATCH", { meta: { appName: "Hooked" } });
    expect(await events()).toEqual(["onSettingsUpdateRequest"]);
  });
});

describe("hooks refuse, change and roll back", () => {
  it("an ApiError from a hook answers with its status and data; nothing is stored or emitted", async () => {
    const res = await json("/api/collections/guarded/records", "POST", { title: "forbidden" }, aliceToken);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      status: 400,
      message: "Titles like that are refused.",
      data: { title: { code: "validation_refused", message: "Refused." } },
    });
    expect(await events()).toEqual(["onRecordCreateRequest:guarded", "onRecordAfterCreateError:guarded"]);
    const count = await server.basalt.records.list("guarded");
    expect(count.totalItems).toBe(0);
  });

  it("any other throw is a bare 500 without internals", async () => {
    const res = await json("/api/collections/guarded/records", "POST", { title: "crash" }, aliceToken);
    expect(res.status).toBe(500);
    expect(JSON.stringify(res.body)).not.toContain("crashed");
    expect(res.body).toMatchObject({ status: 500, data: {} });
  });

  it("a hook's change to the record is validated and stored", async () => {
    const bad = await json("/api/collections/guarded/records", "POST", { title: "  ab  " }, aliceToken);
    expect(bad.status).toBe(400);
    expect(bad.body.data.title.code).toBe("validation_min_text_constraint");
    const ok = await json("/api/collections/guarded/records", "POST", { title: "  abc  " }, aliceToken);
    expect(ok.status).toBe(200);
    expect(ok.body.title).toBe("abc");
  });

  it("writes a model hook makes in the transaction commit with the record, or roll back with it", async () => {
    const ok = await json("/api/collections/orders/records", "POST", { total: 5 }, aliceToken);
    expect(ok.status).toBe(200);
    expect((await server.basalt.records.findFirst("audit", "note = {:n}", { n: "order 5" }))?.note).toBe(
      "order 5",
    );
    const refused = await json("/api/collections/orders/records", "POST", { total: -1 }, aliceToken);
    expect(refused.status).toBe(400);
    expect(await server.basalt.records.findFirst("audit", "note = {:n}", { n: "order -1" })).toBeNull();
    expect((await server.basalt.records.list("orders", { filter: "total < 0" })).totalItems).toBe(0);
    const log = await events();
    expect(log.filter((e) => e === "onRecordAfterCreateSuccess:audit")).toHaveLength(1);
    expect(log).toContain("onRecordAfterCreateError:orders");
  });

  it("a batch item refused by a hook rolls back an earlier create whose handlers only passed e.next() on", async () => {
    const res = await json("/api/batch", "POST", {
      requests: [
        { method: "POST", url: "/api/collections/posts/records", body: { title: "batch-undone" } },
        { method: "POST", url: "/api/collections/guarded/records", body: { title: "forbidden" } },
      ],
    });
    expect(res.status).toBe(400);
    expect((await server.basalt.records.list("posts", { filter: "title = 'batch-undone'" })).totalItems).toBe(
      0,
    );
    expect((await events()).filter((e) => e.startsWith("onRecordAfterCreateSuccess"))).toEqual([]);
  });

  it("an async handler that refuses after its e.next() rolls back a create that passed every other handler", async () => {
    // orders: the async handler awaits e.next() and refuses negative totals once the INSERT is done
    const refused = await json("/api/collections/orders/records", "POST", { total: -7 }, aliceToken);
    expect(refused.status).toBe(400);
    expect((await server.basalt.records.list("orders", { filter: "total = -7" })).totalItems).toBe(0);
    // a pass-through-only create on the same server is stored and announced once
    const ok = await json("/api/collections/posts/records", "POST", { title: "passed-through" }, aliceToken);
    expect(ok.status).toBe(200);
    expect(
      (await server.basalt.records.list("posts", { filter: "title = 'passed-through'" })).totalItems,
    ).toBe(1);
    expect((await events()).filter((e) => e === "onRecordAfterCreateSuccess:posts")).toHaveLength(1);
  });

  it("runInTransaction from code rolls every write back on a throw", async () => {
    await expect(
      server.basalt.runInTransaction(async (tx) => {
        await tx.create("audit", { note: "tx-1" });
        await tx.create("audit", { note: "tx-2" });
        throw new Error("stop");
      }),
    ).rejects.toThrow("stop");
    expect((await server.basalt.records.list("audit", { filter: "note ~ 'tx-'" })).totalItems).toBe(0);
    expect((await events()).filter((e) => e.startsWith("onRecordAfterCreateSuccess"))).toEqual([]);
  });
});
