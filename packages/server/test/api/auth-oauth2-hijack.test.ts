import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readRecord } from "../harness/fixtures/auth-records.js";
import { type OidcServer, startOidcServer } from "../harness/fixtures/oidc-server.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

/**
 * OAuth2 account pre-hijacking (security review finding 2, and finding 7): somebody registers the victim's
 * address first and attaches his own provider account to it, so that when the real owner later signs in by
 * provider and is matched by e-mail, the squatter still gets in with his provider account, his password or
 * his old tokens. And a claim that fails half-way must change nothing.
 */

const REDIRECT = "https://app.example.test/oauth2-callback";
let server: TestServer;
let oidc: OidcServer;

function provider(name: string) {
  return {
    name,
    clientId: `${name}-client`,
    clientSecret: `${name}-secret`,
    authURL: `${oidc.url}/authorize`,
    tokenURL: `${oidc.url}/token`,
    userInfoURL: `${oidc.url}/userinfo`,
    displayName: "",
    pkce: null,
    extra: {},
  };
}

beforeAll(async () => {
  oidc = await startOidcServer();
  server = await startServer();
  const su = await superuserSdk(server);
  await su.collections.update("users", {
    oauth2: { enabled: true, providers: [provider("oidc"), provider("google")] },
  });
});
afterAll(async () => {
  await server.stop();
  await oidc.stop();
});

interface AuthBody {
  token: string;
  record: { id: string; email: string; verified: boolean };
  meta?: { isNew?: boolean };
}

/** One whole OAuth2 round trip for the user `claims`, optionally as a signed-in caller; the raw response. */
async function oauth2(
  name: string,
  claims: Record<string, unknown>,
  opts: { token?: string; createData?: Record<string, unknown> } = {},
) {
  oidc.setUser(claims);
  const methods = await server.sdk().collection("users").listAuthMethods();
  const p = methods.oauth2.providers.find((x) => x.name === name)!;
  const { code } = await oidc.authorize(p.authURL, REDIRECT);
  const res = await server.fetch("/api/collections/users/auth-with-oauth2", {
    method: "POST",
    token: opts.token,
    json: {
      provider: name,
      code,
      codeVerifier: p.codeVerifier,
      redirectURL: REDIRECT,
      ...(opts.createData ? { createData: opts.createData } : {}),
    },
  });
  return { status: res.status, body: (await res.json()) as AuthBody };
}

async function passwordLogin(identity: string, password: string) {
  const res = await server.fetch("/api/collections/users/auth-with-password", {
    method: "POST",
    json: { identity, password },
  });
  return { status: res.status, body: (await res.json()) as AuthBody };
}

async function refreshStatus(token: string) {
  const res = await server.fetch("/api/collections/users/auth-refresh", { method: "POST", token });
  return res.status;
}

async function externalAuths(recordId: string) {
  const rows = await server.basalt.app.db.all<{ provider: string; providerId: string }>(
    'SELECT "provider", "providerId" FROM "_externalAuths" WHERE "recordRef" = ?',
    [recordId],
  );
  return rows.map((r) => `${r.provider}:${r.providerId}`).sort();
}

async function recordsWithEmail(email: string) {
  return server.basalt.app.db.all<{ id: string }>('SELECT "id" FROM "users" WHERE "email" = ?', [email]);
}

/** The attacker registers the victim's address with a password (unverified) and signs in with it. */
async function squat(email: string, password: string) {
  const res = await server.fetch("/api/collections/users/records", {
    method: "POST",
    json: { email, password, passwordConfirm: password },
  });
  expect(res.status).toBe(200);
  const { id } = (await res.json()) as { id: string };
  const login = await passwordLogin(email, password);
  expect(login.status).toBe(200);
  return { id, token: login.body.token };
}

describe.each([
  { title: "same provider", attackerVia: "oidc", victimVia: "oidc" },
  { title: "different providers", attackerVia: "google", victimVia: "oidc" },
])("OAuth2 pre-hijack ($title)", ({ title, attackerVia, victimVia }) => {
  const tag = title.replace(/\W+/g, "-");

  it("the reported sequence: the squatter cannot link his own identity, the owner ends up signed in", async () => {
    const victimEmail = `victim-${tag}@example.com`;
    const attacker = { sub: `attacker-${tag}`, email: `attacker-${tag}@evil.test`, email_verified: true };
    // 1) the attacker registers the victim's address with a password (unverified)
    const squatted = await squat(victimEmail, "squatter-pass-1");
    // 2) signed in as that account, he links his own provider identity: refused while it is unverified
    const link = await oauth2(attackerVia, attacker, { token: squatted.token });
    expect(link.status).toBe(400);
    expect(await externalAuths(squatted.id)).toEqual([]);
    const untouched = await readRecord(server, "users", squatted.id);
    expect(Boolean(untouched.verified)).toBe(false);
    // 3) the owner signs in by provider with her verified address: she gets the account
    const victim = await oauth2(victimVia, {
      sub: `victim-${tag}`,
      email: victimEmail,
      email_verified: true,
    });
    expect(victim.status).toBe(200);
    expect(victim.body.record.id).toBe(squatted.id);
    expect(victim.body.record.verified).toBe(true);
    expect(await externalAuths(squatted.id)).toEqual([`${victimVia}:victim-${tag}`]);
    expect(await refreshStatus(victim.body.token)).toBe(200);
    // 4) the attacker's identity, password and tokens all fail for her account
    const again = await oauth2(attackerVia, attacker);
    expect(again.status).toBe(200);
    expect(again.body.record.id).not.toBe(squatted.id);
    expect(again.body.record.email).toBe(attacker.email);
    expect((await passwordLogin(victimEmail, "squatter-pass-1")).status).toBe(400);
    expect(await refreshStatus(squatted.token)).toBe(401);
  });

  it("an account planted by OAuth2 sign-up (createData.email) loses the planter's link when claimed", async () => {
    const victimEmail = `planted-${tag}@example.com`;
    const attacker = { sub: `planter-${tag}`, email: `planter-${tag}@evil.test`, email_verified: true };
    const planted = await oauth2(attackerVia, attacker, {
      createData: { email: victimEmail, password: "planter-pass-1", passwordConfirm: "planter-pass-1" },
    });
    expect(planted.status).toBe(200);
    expect(planted.body.record).toMatchObject({ email: victimEmail, verified: false });
    const plantedId = planted.body.record.id;
    expect(await externalAuths(plantedId)).toEqual([`${attackerVia}:planter-${tag}`]);
    const plantedPasswordToken = (await passwordLogin(victimEmail, "planter-pass-1")).body.token;

    const victim = await oauth2(victimVia, { sub: `owner-${tag}`, email: victimEmail, email_verified: true });
    expect(victim.status).toBe(200);
    expect(victim.body.record.id).toBe(plantedId);
    expect(victim.body.record.verified).toBe(true);
    expect(victim.body.meta?.isNew).toBe(false);
    expect(await externalAuths(plantedId)).toEqual([`${victimVia}:owner-${tag}`]);

    const again = await oauth2(attackerVia, attacker);
    expect(again.status).toBe(200);
    expect(again.body.record.id).not.toBe(plantedId);
    expect((await passwordLogin(victimEmail, "planter-pass-1")).status).toBe(400);
    expect(await refreshStatus(planted.body.token)).toBe(401);
    expect(await refreshStatus(plantedPasswordToken)).toBe(401);
    // and she keeps signing in with her identity
    const back = await oauth2(victimVia, { sub: `owner-${tag}`, email: victimEmail, email_verified: true });
    expect(back.body.record.id).toBe(plantedId);
  });
});

describe("OAuth2 linking by a signed-in caller", () => {
  it("links to an unverified account when the provider asserts the account's own verified e-mail", async () => {
    const own = await squat("own-link@example.com", "own-pass-123");
    const res = await oauth2(
      "oidc",
      { sub: "own-link", email: "OWN-link@example.com", email_verified: true },
      { token: own.token },
    );
    expect(res.status).toBe(200);
    expect(res.body.record.id).toBe(own.id);
    expect(res.body.record.verified).toBe(true);
    expect(await externalAuths(own.id)).toEqual(["oidc:own-link"]);
    // the caller's own password and session are not reset by linking
    expect((await passwordLogin("own-link@example.com", "own-pass-123")).status).toBe(200);
    expect(await refreshStatus(own.token)).toBe(200);
  });

  it("refuses an unverified account an identity whose e-mail the provider has not verified", async () => {
    const own = await squat("unverified-link@example.com", "own-pass-123");
    const res = await oauth2(
      "oidc",
      { sub: "unverified-link", email: "unverified-link@example.com", email_verified: false },
      { token: own.token },
    );
    expect(res.status).toBe(400);
    expect(await externalAuths(own.id)).toEqual([]);
  });

  it("links any identity to a verified account", async () => {
    const own = await squat("verified-link@example.com", "own-pass-123");
    const app = server.basalt.app;
    await app.db.run('UPDATE "users" SET "verified" = ? WHERE "id" = ?', [true, own.id]);
    const res = await oauth2(
      "google",
      { sub: "verified-link", email: "other-address@example.com", email_verified: true },
      { token: own.token },
    );
    expect(res.status).toBe(200);
    expect(res.body.record.id).toBe(own.id);
    expect(await externalAuths(own.id)).toEqual(["google:verified-link"]);
  });
});

describe("a claim or sign-up that fails half-way changes nothing", () => {
  // A trigger makes inserting a link for any `boom…` identity fail: the last write of the flow.
  beforeAll(async () => {
    const db = server.basalt.app.db;
    if (server.store === "postgres") {
      await db.exec(`CREATE FUNCTION test_fail_link() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW."providerId" LIKE 'boom%' THEN RAISE EXCEPTION 'injected link failure'; END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER test_fail_link BEFORE INSERT ON "_externalAuths"
          FOR EACH ROW EXECUTE FUNCTION test_fail_link();`);
    } else {
      await db.exec(`CREATE TRIGGER test_fail_link BEFORE INSERT ON "_externalAuths"
        WHEN NEW."providerId" LIKE 'boom%'
        BEGIN SELECT RAISE(ABORT, 'injected link failure'); END;`);
    }
  });
  afterAll(async () => {
    await server.basalt.app.db.exec(
      server.store === "postgres"
        ? 'DROP TRIGGER test_fail_link ON "_externalAuths"; DROP FUNCTION test_fail_link();'
        : "DROP TRIGGER test_fail_link",
    );
  });

  it("claiming a squatted account: password, tokens, verified flag and links stay as they were", async () => {
    const victimEmail = "midway@example.com";
    const attacker = { sub: "midway-attacker", email: "midway-attacker@evil.test", email_verified: true };
    const planted = await oauth2("google", attacker, {
      createData: { email: victimEmail, password: "planter-pass-1", passwordConfirm: "planter-pass-1" },
    });
    expect(planted.status).toBe(200);
    const id = planted.body.record.id;
    const before = await readRecord(server, "users", id);

    const victim = await oauth2("oidc", { sub: "boom-victim", email: victimEmail, email_verified: true });
    expect(victim.status).toBe(400);
    expect(victim.body).toMatchObject({ message: "Failed to authenticate." });

    expect(await readRecord(server, "users", id)).toEqual(before);
    expect(await externalAuths(id)).toEqual(["google:midway-attacker"]);
    expect((await passwordLogin(victimEmail, "planter-pass-1")).status).toBe(200);
    expect(await refreshStatus(planted.body.token)).toBe(200);
  });

  it("a sign-up whose link fails leaves no account behind", async () => {
    const res = await oauth2("oidc", {
      sub: "boom-new",
      email: "boom-new@example.com",
      email_verified: true,
    });
    expect(res.status).toBe(400);
    expect(await recordsWithEmail("boom-new@example.com")).toEqual([]);
  });
});
