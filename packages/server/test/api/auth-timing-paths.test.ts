import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { passwordWork } from "../../src/auth/index.js";
import { insertAuthRecord } from "../harness/fixtures/auth-records.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

// Issue 10, item 4: request-otp, password sign-in, password reset and verification requests take the same
// steps for known and unknown accounts. No clock here (timing belongs in bench/auth-timing.mjs): the test
// counts the password work each answer costs and checks that e-mail is rendered and queued only after the
// answer has been written.

let server: TestServer;
/** What happened, in order: `reply <url>` when an answer is handed to the socket, `enqueue <queue>`. */
const events: string[] = [];

beforeAll(async () => {
  server = await startServer(
    {},
    {
      beforeListen: (basalt) => {
        basalt.server.addHook("onSend", async (request, _reply, payload) => {
          events.push(`reply ${request.url}`);
          return payload;
        });
      },
    },
  );
  const app = server.basalt.app;
  const su = await superuserSdk(server);
  await su.collections.update("users", { otp: { enabled: true } });
  await insertAuthRecord(server, "users", { email: "ann@example.com", password: "ann-password-1" });
  // an account made through OAuth2 or OTP: no password to check
  await insertAuthRecord(server, "users", { email: "nopass@example.com", passwordHash: "" });
  app.mail.useMailer({ send: async () => {} });
  const enqueue = app.jobs.enqueue.bind(app.jobs);
  app.jobs.enqueue = ((queue: string, ...rest: unknown[]) => {
    events.push(`enqueue ${queue}`);
    return (enqueue as (...a: unknown[]) => ReturnType<typeof enqueue>)(queue, ...rest);
  }) as typeof app.jobs.enqueue;
});
afterAll(() => server?.stop());

const post = (path: string, json: unknown) =>
  server.fetch(`/api/collections/users/${path}`, { method: "POST", json });

/** The password work one request costs, and its status. */
async function workOf(path: string, json: unknown) {
  const before = passwordWork();
  const res = await post(path, json);
  await res.arrayBuffer();
  const after = passwordWork();
  return {
    status: res.status,
    hashes: after.hashes - before.hashes,
    verifies: after.verifies - before.verifies,
    dummyVerifies: after.dummyVerifies - before.dummyVerifies,
  };
}

describe("known and unknown accounts cost the same (issue 10)", () => {
  it("password sign-in verifies one argon2id hash either way: the account's, or a dummy of the same cost", async () => {
    const known = await workOf("auth-with-password", {
      identity: "ann@example.com",
      password: "wrong-pass-1",
    });
    const unknown = await workOf("auth-with-password", {
      identity: "ghost@example.com",
      password: "wrong-pass-1",
    });
    const noPassword = await workOf("auth-with-password", {
      identity: "nopass@example.com",
      password: "x-pass-12",
    });
    expect(known).toEqual({ status: 400, hashes: 0, verifies: 1, dummyVerifies: 0 });
    expect(unknown).toEqual({ status: 400, hashes: 0, verifies: 1, dummyVerifies: 1 });
    expect(noPassword).toEqual({ status: 400, hashes: 0, verifies: 1, dummyVerifies: 1 });
  });

  it("request-otp hashes one code either way", async () => {
    const known = await workOf("request-otp", { email: "ann@example.com" });
    const unknown = await workOf("request-otp", { email: "ghost@example.com" });
    expect(known).toEqual({ status: 200, hashes: 1, verifies: 0, dummyVerifies: 0 });
    expect(unknown).toEqual(known);
    // past PocketBase's limit of live codes the newest is reused, still after the same hashing
    for (let i = 0; i < 10; i++) await post("request-otp", { email: "ann@example.com" });
    expect(await workOf("request-otp", { email: "ann@example.com" })).toEqual(known);
  });

  it("mail is rendered and queued only after the answer is written; unknown addresses queue nothing", async () => {
    const app = server.basalt.app;
    const routes = [
      ["request-otp", "nopass@example.com"],
      ["request-password-reset", "ann@example.com"],
      ["request-verification", "ann@example.com"],
    ] as const;
    for (const [route, email] of routes) {
      events.length = 0;
      expect((await post(route, { email: email.toUpperCase() })).status).toBeLessThan(300);
      await app.mail.idle();
      const url = `/api/collections/users/${route}`;
      expect(events.filter((e) => e === `reply ${url}` || e === "enqueue _mail")).toEqual([
        `reply ${url}`,
        "enqueue _mail",
      ]);
      events.length = 0;
      expect((await post(route, { email: "ghost@example.com" })).status).toBeLessThan(300);
      await app.mail.idle();
      expect(events.filter((e) => e.startsWith("enqueue"))).toEqual([]);
    }
  });
});
