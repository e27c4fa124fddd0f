import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type PocketBase from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportDump, importDump } from "../../src/core/transfer/index.js";
import { openDatabase } from "../../src/db/index.js";
import { insertAuthRecord } from "../harness/fixtures/auth-records.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

// Issue 11, item 8: an auth record id is unique across auth collections, so `owner = @request.auth.id` can
// never match a token of another collection.

let server: TestServer;
let su: PocketBase;
let userId: string;
beforeAll(async () => {
  server = await startServer();
  su = await superuserSdk(server);
  await su.collections.create({ name: "staff", type: "auth", createRule: "", fields: [] });
  await su.collections.create({
    name: "notes",
    fields: [
      { name: "text", type: "text" },
      { name: "owner", type: "relation", collectionId: "_pb_users_auth_", maxSelect: 1 },
    ],
    listRule: "owner = @request.auth.id",
    viewRule: "owner = @request.auth.id",
    updateRule: "owner = @request.auth.id",
  } as never);
  userId = String((await insertAuthRecord(server, "users", { email: "u@example.com", verified: true })).id);
  await su.collection("notes").create({ text: "mine", owner: userId });
});
afterAll(() => server.stop());

describe("auth ids across auth collections", () => {
  it("refuse a self-registration that reuses another auth collection's id", async () => {
    const res = await server.fetch("/api/collections/staff/records", {
      method: "POST",
      json: {
        id: userId,
        email: "mallory@example.com",
        password: "mallory-pass-1",
        passwordConfirm: "mallory-pass-1",
      },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ data: { id: { code: "validation_invalid_or_existing_id" } } });
    // so no staff token can pass for the user: the note stays out of reach
    expect((await su.collection("staff").getList(1, 10)).totalItems).toBe(0);
  });

  it("refuse it for superusers too, and through batch upserts; a fresh id is fine", async () => {
    await expect(
      su.collection("staff").create({
        id: userId,
        email: "s@example.com",
        password: "staff-pass-1",
        passwordConfirm: "staff-pass-1",
      }),
    ).rejects.toMatchObject({ status: 400 });
    await su.settings.update({ batch: { enabled: true } });
    const batch = su.createBatch();
    batch.collection("staff").upsert({
      id: userId,
      email: "b@example.com",
      password: "staff-pass-1",
      passwordConfirm: "staff-pass-1",
    });
    await expect(batch.send()).rejects.toMatchObject({ status: 400 });
    const ok = await su
      .collection("staff")
      .create({ email: "fine@example.com", password: "staff-pass-1", passwordConfirm: "staff-pass-1" });
    expect(ok.id).not.toBe(userId);
    // and the other way round: a user may not take a staff member's id
    await expect(
      su.collection("users").create({
        id: ok.id,
        email: "x@example.com",
        password: "user-pass-12",
        passwordConfirm: "user-pass-12",
      }),
    ).rejects.toMatchObject({ status: 400 });
  });

  it("basalt import refuses a dump where two auth collections share an id", async () => {
    const staff = await su
      .collection("staff")
      .create({ email: "dup@example.com", password: "staff-pass-1", passwordConfirm: "staff-pass-1" });
    // forced behind the API's back, as a hand-edited or foreign dump could hold it
    await server.basalt.app.db.run("UPDATE staff SET id = ? WHERE id = ?", [userId, staff.id]);
    const lines: string[] = [];
    await exportDump(server.basalt.app.db, async (line) => void lines.push(line));
    await server.basalt.app.db.run("DELETE FROM staff WHERE id = ?", [userId]);
    const dir = mkdtempSync(join(tmpdir(), "basalt-dup-id-"));
    const target = await openDatabase({ url: "", sqliteFile: join(dir, "data.db") });
    try {
      async function* read() {
        for (const l of lines) for (const part of l.split("\n")) if (part) yield part;
      }
      await expect(importDump(target, read())).rejects.toMatchObject({
        code: "BASALT_ERR_TRANSFER_DUPLICATE_AUTH_ID",
      });
      expect(await target.tableExists("_collections")).toBe(false);
    } finally {
      await target.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
