import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SMTPServer } from "smtp-server";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BasaltConfig } from "../../src/main.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";
import { waitFor } from "../harness/wait.js";

// Issue 18, item 6: the SMTP and S3 passwords, OAuth2 client secrets and webhook secrets are encrypted in
// the database with a key from the environment, never returned by the API, and still work after a restart.

const ENV = "BASALT_TEST_ENCRYPTION_KEY";
const KEY = "0123456789abcdef0123456789abcdef";
const keyed = (key = KEY): Partial<BasaltConfig> => ({ encryptionEnv: ENV, encryptionKey: key });

const SMTP_PASSWORD = "smtp-pass-Plain-1";
const S3_SECRET = "s3-secret-Plain-1";
const OAUTH_SECRET = "oauth-secret-Plain-1";
const BACKUPS_SECRET = "backups-secret-Plain-1";
const PLAINTEXTS = [SMTP_PASSWORD, S3_SECRET, OAUTH_SECRET, BACKUPS_SECRET];

/** An SMTP server that requires a sign-in and records the passwords it was given. */
async function startAuthSmtp() {
  const logins: string[] = [];
  const received: string[] = [];
  const smtp = new SMTPServer({
    authMethods: ["PLAIN"],
    allowInsecureAuth: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onAuth(auth, _session, callback) {
      logins.push(String(auth.password));
      if (auth.username === "mailer" && auth.password === SMTP_PASSWORD) callback(null, { user: "mailer" });
      else callback(new Error("bad credentials"));
    },
    onData(stream, session, callback) {
      stream.resume();
      stream.on("end", () => {
        received.push(...session.envelope.rcptTo.map((r) => r.address));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
  return {
    port: (smtp.server.address() as AddressInfo).port,
    logins,
    received,
    stop: () => new Promise<void>((resolve) => smtp.close(() => resolve())),
  };
}

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

async function startReceiver() {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The stored secrets, read from the tables themselves. */
async function rawSecrets(server: TestServer) {
  const db = server.basalt.app.db;
  const settings = await db.get<{ value: unknown }>(`SELECT value FROM _params WHERE id = 'settings'`);
  const users = await db.get<{ options: unknown }>(`SELECT options FROM _collections WHERE name = 'users'`);
  const hooks = await db.all<{ secret: string }>("SELECT secret FROM _webhooks");
  const text = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  const s = JSON.parse(text(settings?.value)) as {
    smtp: { password: string };
    s3: { secret: string };
    backups: { s3: { secret: string } };
  };
  const o = JSON.parse(text(users?.options)) as { oauth2: { providers: { clientSecret: string }[] } };
  return {
    all: [text(settings?.value), text(users?.options), ...hooks.map((h) => h.secret)].join("\n"),
    smtp: s.smtp.password,
    s3: s.s3.secret,
    oauth2: o.oauth2.providers[0]?.clientSecret,
    backups: s.backups.s3.secret,
    webhooks: hooks.map((h) => h.secret),
  };
}

let smtp: Awaited<ReturnType<typeof startAuthSmtp>>;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let dir: string;
let server: TestServer | undefined;
let hookSecret: string;

const api = async (path: string, method = "GET", json?: unknown) => {
  const token = await superuserToken(server!);
  return server!.fetch(path, { method, json, token });
};

beforeAll(async () => {
  smtp = await startAuthSmtp();
  receiver = await startReceiver();
  dir = mkdtempSync(join(tmpdir(), "basalt-secrets-"));
});
afterAll(async () => {
  await server?.stop();
  await smtp.stop();
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

const restart = async (config: Partial<BasaltConfig>) => {
  await server?.stop();
  server = undefined;
  server = await startServer(
    { ...config, jobsPollMs: 20, webhookAllowedTargets: ["loopback"] },
    { dataDir: dir },
  );
  return server;
};

describe("secrets at rest", () => {
  it("stores the secrets as given without a key (the state a first keyed start migrates)", async () => {
    await restart({});
    expect(
      (
        await api("/api/settings", "PATCH", {
          smtp: {
            enabled: true,
            host: "127.0.0.1",
            port: smtp.port,
            username: "mailer",
            password: SMTP_PASSWORD,
            tls: false,
          },
          s3: {
            bucket: "b",
            region: "r",
            endpoint: "http://127.0.0.1:1",
            accessKey: "ak",
            secret: S3_SECRET,
          },
          backups: {
            s3: { bucket: "bk", region: "r", endpoint: "http://127.0.0.1:1", secret: BACKUPS_SECRET },
          },
        })
      ).status,
    ).toBe(200);
    const users = await api("/api/collections/users", "PATCH", {
      oauth2: {
        enabled: true,
        providers: [{ name: "google", clientId: "cid", clientSecret: OAUTH_SECRET }],
      },
    });
    expect(users.status).toBe(200);
    const hook = await api("/api/webhooks", "POST", {
      url: `${receiver.url}/hook`,
      collections: ["users"],
      events: ["create"],
    });
    hookSecret = ((await hook.json()) as { secret: string }).secret;
    const raw = await rawSecrets(server!);
    expect([raw.smtp, raw.s3, raw.oauth2, raw.backups, raw.webhooks[0]]).toEqual([...PLAINTEXTS, hookSecret]);
  });

  it("encrypts the existing plaintext secrets in place on the first start with a key", async () => {
    await restart(keyed());
    const raw = await rawSecrets(server!);
    for (const v of [raw.smtp, raw.s3, raw.oauth2, raw.backups, raw.webhooks[0]])
      expect(v).toMatch(/^bsec1:[\w-]{40,}$/);
    for (const plain of [...PLAINTEXTS, hookSecret]) expect(raw.all).not.toContain(plain);
    // the in-memory values are the secrets, for the server's own use
    const users = server!.basalt.app.collections.find("users")!;
    expect(users.oauth2?.providers[0].clientSecret).toBe(OAUTH_SECRET);
  });

  it("never returns a secret from the API, and an update that omits one keeps it", async () => {
    const settings = (await (await api("/api/settings")).json()) as any;
    expect(settings.smtp).toMatchObject({ username: "mailer", password: "" });
    expect(settings.s3).toMatchObject({ accessKey: "ak", secret: "" });
    const users = (await (await api("/api/collections/users")).json()) as any;
    expect(users.oauth2.providers[0]).not.toHaveProperty("clientSecret");
    const hooks = (await (await api("/api/webhooks")).json()) as any;
    expect(hooks[0]).not.toHaveProperty("secret");
    const everything = JSON.stringify([settings, users, hooks]);
    for (const plain of [...PLAINTEXTS, hookSecret]) expect(everything).not.toContain(plain);
    // what the dashboard sends back: the settings and the provider as shown, secrets blank
    expect((await api("/api/settings", "PATCH", settings)).status).toBe(200);
    expect((await api("/api/collections/users", "PATCH", { oauth2: users.oauth2 })).status).toBe(200);
    const raw = await rawSecrets(server!);
    expect(raw.smtp).toMatch(/^bsec1:/);
    expect(server!.basalt.app.settings.get().smtp.password).toBe(SMTP_PASSWORD);
    expect(server!.basalt.app.settings.get().s3.secret).toBe(S3_SECRET);
    expect(server!.basalt.app.settings.get().backups.s3.secret).toBe(BACKUPS_SECRET);
    expect(settings.backups.s3.secret).toBe("");
    expect(server!.basalt.app.collections.find("users")!.oauth2?.providers[0].clientSecret).toBe(
      OAUTH_SECRET,
    );
  });

  it("seals a new value with a fresh IV each time", async () => {
    const before = (await rawSecrets(server!)).smtp;
    expect((await api("/api/settings", "PATCH", { smtp: { password: SMTP_PASSWORD } })).status).toBe(200);
    const after = (await rawSecrets(server!)).smtp;
    expect(after).toMatch(/^bsec1:/);
    expect(after).not.toBe(before);
  });

  it("still signs in to SMTP and signs webhooks after a restart with the key", async () => {
    await restart(keyed());
    smtp.logins.length = 0;
    const sent = await api("/api/settings/test/email", "POST", {
      email: "after-restart@example.com",
      template: "verification",
      collection: "users",
    });
    expect(sent.status).toBe(204);
    expect(smtp.received).toContain("after-restart@example.com");
    expect(smtp.logins).toEqual([SMTP_PASSWORD]);
    await server!
      .sdk()
      .collection("users")
      .create({ email: "signed@example.com", password: "password-123", passwordConfirm: "password-123" });
    const got = await waitFor(
      () => receiver.received.find((r) => r.body.includes("signed@example.com")),
      "a delivery",
    );
    const event = new StandardWebhook(hookSecret).verify(got.body, {
      "webhook-id": String(got.headers["webhook-id"]),
      "webhook-timestamp": String(got.headers["webhook-timestamp"]),
      "webhook-signature": String(got.headers["webhook-signature"]),
    }) as { type: string };
    expect(event.type).toBe("record.create");
  });

  it("refuses to start without the key, with a wrong key or with a key of the wrong length", async () => {
    await server?.stop();
    server = undefined;
    await expect(startServer({}, { dataDir: dir })).rejects.toMatchObject({
      code: "BASALT_ERR_ENCRYPTION_KEY_MISSING",
      message: expect.stringContaining(ENV),
    });
    await expect(startServer(keyed("x".repeat(32)), { dataDir: dir })).rejects.toMatchObject({
      code: "BASALT_ERR_ENCRYPTION_KEY_WRONG",
    });
    await expect(startServer(keyed("short"), { dataDir: dir })).rejects.toMatchObject({
      code: "BASALT_ERR_ENCRYPTION_KEY_INVALID",
    });
    await expect(
      startServer({ encryptionEnv: ENV, encryptionKey: "" }, { dataDir: dir }),
    ).rejects.toMatchObject({
      code: "BASALT_ERR_ENCRYPTION_KEY_MISSING",
      message: expect.stringContaining(ENV),
    });
    // and the right key still opens everything
    await restart(keyed());
    expect(server!.basalt.app.settings.get().smtp.password).toBe(SMTP_PASSWORD);
  });
});
