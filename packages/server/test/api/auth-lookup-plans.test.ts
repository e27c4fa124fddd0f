import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthCollection } from "../../src/core/collections/index.js";
import type { Queryable, SqlValue } from "../../src/db/index.js";
import type { MailMessage } from "../../src/mail/index.js";
import { newRecordId, nowDateTime } from "../../src/util/index.js";
import { insertAuthRecord } from "../harness/fixtures/auth-records.js";
import { SUPERUSER, startServer, superuserSdk, type TestServer } from "../harness/server.js";

// Issue 10, item 3: every auth and e-mail look-up is an index seek on both stores. The server runs the real
// HTTP flows against a table of 100,000 accounts while every statement it sends is recorded; each look-up
// by e-mail is then explained on the same database with the same parameters.

const FILLERS = 100_000;
const BATCH = 500;

let server: TestServer;
const statements: { sql: string; params: readonly SqlValue[] }[] = [];
const mail: MailMessage[] = [];

/** Wraps a Queryable (and the transactions it opens) so every statement it runs is recorded. */
function record(q: Queryable): void {
  const target = q as unknown as Record<string, unknown>;
  for (const method of ["get", "all", "run"] as const) {
    const original = q[method].bind(q) as (sql: string, params?: readonly SqlValue[]) => Promise<unknown>;
    target[method] = (sql: string, params: readonly SqlValue[] = []) => {
      statements.push({ sql, params });
      return original(sql, params);
    };
  }
  const transaction = q.transaction.bind(q);
  target.transaction = <T>(fn: (tx: Queryable) => Promise<T>) =>
    transaction((tx) => {
      record(tx);
      return fn(tx);
    });
}

/** Inserts many unverified accounts in one transaction (a few seconds even on PostgreSQL). */
async function insertFillers(collection: AuthCollection, passwordHash: string): Promise<void> {
  const db = server.basalt.app.db;
  const t = db.dialect.quoteIdent;
  const now = nowDateTime();
  const cols = ["id", "email", "password", "tokenKey", "emailVisibility", "verified", "created", "updated"];
  const others = collection.fields.map((f) => f.name).filter((n) => !cols.includes(n));
  const columns = [...cols, ...others];
  const row = `(${columns.map(() => "?").join(", ")})`;
  await db.transaction(async (tx) => {
    for (let start = 0; start < FILLERS; start += BATCH) {
      const params: SqlValue[] = [];
      for (let i = start; i < start + BATCH; i++) {
        params.push(newRecordId(), `filler${i}@example.com`, passwordHash, `key${i}`, false, false, now, now);
        for (const name of others) {
          const type = collection.fields.find((f) => f.name === name)?.type;
          params.push(type === "bool" ? false : type === "number" ? 0 : "");
        }
      }
      await tx.run(
        `INSERT INTO ${t(collection.name)} (${columns.map(t).join(", ")}) VALUES ${Array(BATCH).fill(row).join(", ")}`,
        params,
      );
    }
  });
  // PostgreSQL plans from statistics that autovacuum would gather a moment later; gather them now
  if (server.store === "postgres") await db.exec(`ANALYZE ${t(collection.name)}`);
}

/** The plan of a recorded statement, one line per step. */
async function planOf(sql: string, params: readonly SqlValue[]): Promise<string[]> {
  const db = server.basalt.app.db;
  if (server.store === "postgres") {
    const rows = await db.all<Record<string, string>>(`EXPLAIN ${sql}`, params);
    return rows.map((r) => r["QUERY PLAN"]);
  }
  const rows = await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params);
  return rows.map((r) => r.detail);
}

/** True when a plan reads the table through its e-mail index (a seek), never by scanning it. */
function seeksEmailIndex(plan: string[]): boolean {
  const text = plan.join("\n");
  if (server.store === "postgres") {
    return (
      /Index (Only )?Scan using "?idx_email_|Bitmap Index Scan on "?idx_email_/.test(text) &&
      !/Seq Scan/.test(text)
    );
  }
  return /SEARCH \S+ USING (COVERING )?INDEX idx_email_/.test(text) && !/\bSCAN\b/.test(text);
}

const post = (path: string, json: unknown, token?: string) =>
  server.fetch(`/api/collections/${path}`, { method: "POST", json, token });

beforeAll(async () => {
  server = await startServer();
  const app = server.basalt.app;
  const su = await superuserSdk(server);
  await su.collections.update("users", { otp: { enabled: true } });
  const ann = await insertAuthRecord(server, "users", {
    email: "Ann@Example.com",
    password: "ann-password-1",
  });
  await insertFillers(app.collections.get("users") as AuthCollection, String(ann.password));
  app.mail.useMailer({ send: async (m) => void mail.push(m) });
  record(app.db);
}, 120_000);
afterAll(() => server?.stop());

describe("auth and e-mail look-ups on a large table (issue 10)", () => {
  it("sign-in, OTP, reset, verification, e-mail change and superuser flows work and each look-up seeks the index", async () => {
    const app = server.basalt.app;
    // password sign-in ignores the e-mail's case; unknown and wrong answers stay 400
    const signIn = await post("users/auth-with-password", {
      identity: "ann@example.COM",
      password: "ann-password-1",
    });
    expect(signIn.status).toBe(200);
    const { token } = (await signIn.json()) as { token: string };
    expect(
      (await post("users/auth-with-password", { identity: "nobody@example.com", password: "x-password-1" }))
        .status,
    ).toBe(400);
    expect(
      (await post("users/auth-with-password", { identity: "filler7@example.com", password: "wrong-pass-1" }))
        .status,
    ).toBe(400);
    // request routes for a known (other case) and an unknown address
    for (const email of ["ANN@example.com", "ghost@example.com"]) {
      expect((await post("users/request-otp", { email })).status).toBe(200);
      expect((await post("users/request-password-reset", { email })).status).toBe(204);
      expect((await post("users/request-verification", { email })).status).toBe(204);
    }
    // e-mail change: a taken address (other case) is not mailed, a free one is, and confirming it works
    expect(
      (await post("users/request-email-change", { newEmail: "FILLER9@example.com" }, token)).status,
    ).toBe(204);
    expect(
      (await post("users/request-email-change", { newEmail: "ann.new@example.com" }, token)).status,
    ).toBe(204);
    // superusers and the OAuth2 account match (the same look-up the OAuth2 flow makes by the provider's e-mail)
    expect(
      (
        await post("_superusers/auth-with-password", {
          identity: SUPERUSER.email.toUpperCase(),
          password: SUPERUSER.password,
        })
      ).status,
    ).toBe(200);
    const users = app.collections.get("users") as AuthCollection;
    expect((await app.auth.findByEmail(users, "FILLER42@EXAMPLE.COM"))?.email).toBe("filler42@example.com");
    expect(await app.auth.deleteSuperuser("nobody@example.com")).toBe(false);
    await app.mail.idle();
    const sentTo = mail.map((m) => m.to[0].address);
    expect(sentTo.filter((a) => a.toLowerCase() === "ann@example.com")).toHaveLength(3);
    expect(sentTo).toContain("ann.new@example.com");
    expect(sentTo.join(" ")).not.toMatch(/ghost|filler9/i);
    const change = mail.find((m) => m.to[0].address === "ann.new@example.com")!;
    const changeToken = /confirm-email-change\/([\w.-]+)/.exec(change.html)?.[1];
    expect(changeToken).toBeTruthy();
    expect(
      (await post("users/confirm-email-change", { token: changeToken, password: "ann-password-1" })).status,
    ).toBe(204);

    // every statement that looked an account up by e-mail seeks the index
    const lookups = statements.filter(
      (s) =>
        /^\s*(SELECT|DELETE)\b/i.test(s.sql) &&
        /WHERE[\s\S]*"email"/.test(s.sql) &&
        /FROM "(users|_superusers)"/.test(s.sql),
    );
    // sign-in ×3, otp/reset/verification ×2 each, e-mail change (request ×2, confirm), superuser, direct ×2
    expect(lookups.length).toBeGreaterThanOrEqual(15);
    for (const s of lookups) {
      const plan = await planOf(s.sql, s.params);
      expect(seeksEmailIndex(plan), `${s.sql}\n${plan.join("\n")}`).toBe(true);
    }
  }, 120_000);
});
