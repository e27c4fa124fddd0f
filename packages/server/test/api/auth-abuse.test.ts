import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { insertAuthRecord } from "../harness/fixtures/auth-records.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

let server: TestServer;
beforeEach(async () => {
  server = await startServer();
  await insertAuthRecord(server, "users", {
    email: "ann@example.com",
    password: "ann-password-1",
    verified: true,
  });
});
afterEach(() => server.stop());

const post = (path: string, json: unknown, headers?: Record<string, string>) =>
  server.fetch(`/api/collections/users/${path}`, { method: "POST", json, headers });

async function statuses(n: number, send: () => Promise<Response>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await send()).status);
  return out;
}

describe("request routes never tell accounts apart (issue 11)", () => {
  it("answer 204 for known and unknown addresses however often, sending one e-mail per account", async () => {
    await insertAuthRecord(server, "users", { email: "new@example.com", password: "new-password-1" });
    const sent: string[] = [];
    server.basalt.app.mail.useMailer({
      send: async (m) => void sent.push(`${m.to[0].address} ${m.subject}`),
    });
    for (const path of ["request-password-reset", "request-verification"]) {
      for (const email of ["ann@example.com", "new@example.com", "ghost@example.com"]) {
        expect(new Set(await statuses(15, () => post(path, { email })))).toEqual(new Set([204]));
      }
    }
    await server.basalt.app.mail.idle();
    // one reset mail each for the two accounts, one verification mail for the unverified one; nothing else
    expect(sent.map((s) => s.split(" ")[0]).sort()).toEqual([
      "ann@example.com",
      "new@example.com",
      "new@example.com",
    ]);
  });

  it("request-email-change answers 204 for a taken address too, and mails only free ones, once", async () => {
    await insertAuthRecord(server, "users", { email: "taken@example.com", password: "taken-password-1" });
    const sent: string[] = [];
    server.basalt.app.mail.useMailer({ send: async (m) => void sent.push(m.to[0].address) });
    const ann = server.sdk();
    await ann.collection("users").authWithPassword("ann@example.com", "ann-password-1");
    const change = (newEmail: string) =>
      server.fetch("/api/collections/users/request-email-change", {
        method: "POST",
        json: { newEmail },
        token: ann.authStore.token,
      });
    const taken = await change("taken@example.com");
    const free = await change("free@example.com");
    expect([taken.status, free.status]).toEqual([204, 204]);
    expect(await taken.text()).toBe(await free.text());
    expect(new Set(await statuses(10, () => change("free@example.com")))).toEqual(new Set([204]));
    await server.basalt.app.mail.idle();
    expect(sent).toEqual(["free@example.com"]);
  });
});

describe("answers that do not enumerate accounts", () => {
  it("are identical for known and unknown e-mails on every request route", async () => {
    const su = await superuserSdk(server);
    await su.collections.update("users", { otp: { enabled: true } });
    for (const path of ["request-verification", "request-password-reset"]) {
      const known = await post(path, { email: "ann@example.com" });
      const unknown = await post(path, { email: "nobody@example.com" });
      expect([known.status, unknown.status]).toEqual([204, 204]);
      expect(await known.text()).toBe(await unknown.text());
    }
    const known = (await (await post("request-otp", { email: "ann@example.com" })).json()) as Record<
      string,
      unknown
    >;
    const unknown = (await (await post("request-otp", { email: "nobody@example.com" })).json()) as Record<
      string,
      unknown
    >;
    expect(Object.keys(known)).toEqual(["otpId"]);
    expect(Object.keys(unknown)).toEqual(["otpId"]);
  });
});
