import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAuthRecord, readRecord } from "../harness/fixtures/auth-records.js";
import { type OidcServer, startOidcServer } from "../harness/fixtures/oidc-server.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

const REDIRECT = "https://app.example.test/oauth2-callback";
let server: TestServer;
let oidc: OidcServer;

function provider(name: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    clientId: `${name}-client`,
    clientSecret: `${name}-secret`,
    authURL: `${oidc.url}/authorize`,
    tokenURL: `${oidc.url}/token`,
    userInfoURL: name === "apple" ? "" : `${oidc.url}/userinfo`,
    displayName: "",
    pkce: null,
    extra,
  };
}

async function configure(providers: unknown[]) {
  const su = await superuserSdk(server);
  await su.collections.update("users", { oauth2: { enabled: true, providers } });
}

beforeAll(async () => {
  oidc = await startOidcServer();
  server = await startServer();
  await configure([
    provider("oidc"),
    provider("google"),
    provider("apple", { jwksURL: `${oidc.url}/jwks`, issuers: [oidc.url, `${oidc.url}/`] }),
  ]);
});
afterAll(async () => {
  await server.stop();
  await oidc.stop();
});

/** The whole browser round trip: auth-methods, the provider's authorize page, then authWithOAuth2Code. */
async function signIn(name: string, createData?: Record<string, unknown>) {
  const pb = server.sdk();
  const methods = await pb.collection("users").listAuthMethods();
  const p = methods.oauth2.providers.find((x) => x.name === name)!;
  expect(p.authURL.endsWith("redirect_uri=")).toBe(true);
  expect(p.codeChallengeMethod).toBe("S256");
  const { code, state } = await oidc.authorize(p.authURL, REDIRECT);
  expect(state).toBe(p.state);
  const auth = await pb
    .collection("users")
    .authWithOAuth2Code(name, code, p.codeVerifier, REDIRECT, createData);
  return { pb, auth };
}

async function externalAuths(recordId: string) {
  return server.basalt.app.db.all<{ provider: string; providerId: string }>(
    'SELECT "provider", "providerId" FROM "_externalAuths" WHERE "recordRef" = ?',
    [recordId],
  );
}

describe("OAuth2 with a local OpenID Connect server", () => {
  it("signs up a new user with the generic OIDC provider and links it", async () => {
    oidc.setUser({
      sub: "oidc-1",
      email: "olive@example.com",
      email_verified: true,
      name: "Olive",
      preferred_username: "olive",
    });
    const { pb, auth } = await signIn("oidc");
    expect(pb.authStore.isValid).toBe(true);
    expect(auth.record.email).toBe("olive@example.com");
    expect(auth.record.verified).toBe(true);
    expect(auth.record.name).toBe("Olive");
    expect(auth.meta).toMatchObject({
      id: "oidc-1",
      name: "Olive",
      username: "olive",
      email: "olive@example.com",
      isNew: true,
    });
    expect(auth.meta?.accessToken).toBeTruthy();
    expect(await externalAuths(auth.record.id)).toEqual([{ provider: "oidc", providerId: "oidc-1" }]);
    const again = await signIn("oidc");
    expect(again.auth.record.id).toBe(auth.record.id);
    expect(again.auth.meta?.isNew).toBe(false);
  });

  it("works for a named provider (google) whose endpoints point at the local server", async () => {
    oidc.setUser({
      sub: "g-1",
      email: "gina@example.com",
      email_verified: true,
      name: "Gina",
      picture: "https://example.com/g.png",
    });
    const { auth } = await signIn("google", { emailVisibility: true });
    expect(auth.record).toMatchObject({
      email: "gina@example.com",
      name: "Gina",
      emailVisibility: true,
      verified: true,
    });
    expect(auth.meta?.avatarURL).toBe("https://example.com/g.png");
  });

  it("validates Apple's id_token against the provider's JWKS and reads the user from it", async () => {
    oidc.setUser({ sub: "apple-1", email: "ada@example.com", email_verified: "true" });
    const { auth } = await signIn("apple");
    expect(auth.record.email).toBe("ada@example.com");
    expect(await externalAuths(auth.record.id)).toEqual([{ provider: "apple", providerId: "apple-1" }]);
  });

  it("takes over a pre-registered unverified account: the squatter's password stops working", async () => {
    const squatted = await insertAuthRecord(server, "users", {
      email: "victim@example.com",
      password: "squatter-pass-1",
    });
    const squatterLogin = await server.fetch("/api/collections/users/auth-with-password", {
      method: "POST",
      json: { identity: "victim@example.com", password: "squatter-pass-1" },
    });
    const { token: squatterToken } = (await squatterLogin.json()) as { token: string };
    oidc.setUser({ sub: "victim-1", email: "victim@example.com", email_verified: true });
    const { auth } = await signIn("oidc");
    expect(auth.record.id).toBe(squatted.id);
    expect(auth.record.verified).toBe(true);
    const retry = await server.fetch("/api/collections/users/auth-with-password", {
      method: "POST",
      json: { identity: "victim@example.com", password: "squatter-pass-1" },
    });
    expect(retry.status).toBe(400);
    const refresh = await server.fetch("/api/collections/users/auth-refresh", {
      method: "POST",
      token: squatterToken,
    });
    expect(refresh.status).toBe(401);
  });

  it("does not trust an e-mail the provider has not verified", async () => {
    const existing = await insertAuthRecord(server, "users", {
      email: "owner@example.com",
      password: "owner-pass-1",
      verified: true,
    });
    oidc.setUser({ sub: "liar-1", email: "owner@example.com", email_verified: false });
    const { auth } = await signIn("oidc", { email: "liar@example.com" });
    expect(auth.record.id).not.toBe(existing.id);
    expect(auth.record.email).toBe("liar@example.com");
    expect(auth.record.verified).toBe(false);
    expect((await readRecord(server, "users", String(existing.id))).password).toBe(existing.password);
  });
});

describe("OAuth2 attack and error cases", () => {
  const post = (json: unknown) =>
    server.fetch("/api/collections/users/auth-with-oauth2", { method: "POST", json });

  it("refuses a wrong PKCE verifier and a made-up code", async () => {
    oidc.setUser({ sub: "pk-1", email: "pk@example.com", email_verified: true });
    const methods = await server.sdk().collection("users").listAuthMethods();
    const p = methods.oauth2.providers.find((x) => x.name === "oidc")!;
    const { code } = await oidc.authorize(p.authURL, REDIRECT);
    const res = await post({ provider: "oidc", code, codeVerifier: "x".repeat(43), redirectURL: REDIRECT });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ status: 400, message: "Failed to fetch OAuth2 token.", data: {} });
  });

  it("refuses an id_token from an issuer it was not told to trust", async () => {
    await configure([
      provider("apple", { jwksURL: `${oidc.url}/jwks`, issuers: ["https://appleid.apple.com"] }),
    ]);
    try {
      oidc.setUser({ sub: "apple-2", email: "evil@example.com", email_verified: true });
      const methods = await server.sdk().collection("users").listAuthMethods();
      const p = methods.oauth2.providers[0];
      const { code } = await oidc.authorize(p.authURL, REDIRECT);
      const res = await post({
        provider: "apple",
        code,
        codeVerifier: p.codeVerifier,
        redirectURL: REDIRECT,
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ status: 400, message: "Failed to fetch OAuth2 user.", data: {} });
    } finally {
      await configure([
        provider("oidc"),
        provider("google"),
        provider("apple", { jwksURL: `${oidc.url}/jwks`, issuers: [oidc.url, `${oidc.url}/`] }),
      ]);
    }
  });

  it("validates the form and the provider name", async () => {
    const res = await post({ provider: "github", code: "", redirectURL: "" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      message: "An error occurred while loading the submitted data.",
      data: {
        provider: { code: "validation_invalid_provider" },
        code: { code: "validation_required" },
        redirectURL: { code: "validation_required" },
      },
    });
  });

  it("is refused when OAuth2 is disabled", async () => {
    const res = await server.fetch("/api/collections/_superusers/auth-with-oauth2", {
      method: "POST",
      json: { provider: "oidc", code: "x", redirectURL: REDIRECT },
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({
      message: "The collection is not configured to allow OAuth2 authentication.",
    });
  });
});

describe("generic OpenID Connect providers oidc, oidc2 and oidc3", () => {
  const DEFAULT = () => [
    provider("oidc"),
    provider("google"),
    provider("apple", { jwksURL: `${oidc.url}/jwks`, issuers: [oidc.url, `${oidc.url}/`] }),
  ];
  /** oidc3 with no user-info URL: the user comes from the id_token, checked as `extra` says. */
  const idTokenOnly = (extra: Record<string, unknown>) => ({ ...provider("oidc3", extra), userInfoURL: "" });
  let other: OidcServer | undefined;
  afterAll(async () => {
    await configure(DEFAULT());
    await other?.stop();
  });

  async function attempt(name: string) {
    const methods = await server.sdk().collection("users").listAuthMethods();
    const p = methods.oauth2.providers.find((x) => x.name === name);
    if (!p) return { listed: false, status: 0, body: {} };
    const { code } = await oidc.authorize(p.authURL, REDIRECT);
    const res = await server.fetch("/api/collections/users/auth-with-oauth2", {
      method: "POST",
      json: { provider: name, code, codeVerifier: p.codeVerifier, redirectURL: REDIRECT },
    });
    return { listed: true, status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it("all three at once: two with a user-info URL (one also checking the id_token), one from the id_token alone", async () => {
    await configure([
      provider("oidc"),
      provider("oidc2", { jwksURL: `${oidc.url}/jwks`, issuers: [oidc.url] }),
      idTokenOnly({ jwksURL: `${oidc.url}/jwks`, issuers: [oidc.url] }),
    ]);
    const names = (await server.sdk().collection("users").listAuthMethods()).oauth2.providers.map(
      (p) => p.name,
    );
    expect(names.sort()).toEqual(["oidc", "oidc2", "oidc3"]);
    for (const name of ["oidc", "oidc2", "oidc3"]) {
      oidc.setUser({
        sub: `${name}-sub`,
        email: `${name}@example.com`,
        email_verified: true,
        name: name.toUpperCase(),
      });
      const { auth } = await signIn(name);
      expect(auth.record).toMatchObject({
        email: `${name}@example.com`,
        name: name.toUpperCase(),
        verified: true,
      });
      expect(await externalAuths(auth.record.id)).toEqual([{ provider: name, providerId: `${name}-sub` }]);
    }
  });

  it("from the id_token: a foreign issuer, an expired token, a future iat or a key not in the JWKS is refused", async () => {
    other = await startOidcServer();
    const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
      ["issuer", { jwksURL: `${oidc.url}/jwks`, issuers: ["https://accounts.example.com"] }, {}],
      [
        "expiry",
        { jwksURL: `${oidc.url}/jwks`, issuers: [oidc.url] },
        { exp: Math.floor(Date.now() / 1000) - 60 },
      ],
      ["iat", { jwksURL: `${oidc.url}/jwks` }, { iat: Math.floor(Date.now() / 1000) + 3600 }],
      ["signature", { jwksURL: `${other.url}/jwks` }, {}],
    ];
    for (const [what, extra, claims] of cases) {
      await configure([idTokenOnly(extra)]);
      oidc.setUser({ sub: `bad-${what}`, email: `bad-${what}@example.com`, email_verified: true, ...claims });
      const out = await attempt("oidc3");
      expect(out, what).toMatchObject({
        listed: true,
        status: 400,
        body: { message: "Failed to fetch OAuth2 user." },
      });
    }
    const created = await server.basalt.app.db.all('SELECT 1 FROM "users" WHERE "email" LIKE ?', ["bad-%"]);
    expect(created).toEqual([]);
  });

  it("from the id_token needs extra.jwksURL: without it the provider is not offered", async () => {
    await configure([idTokenOnly({}), provider("oidc2")]);
    const names = (await server.sdk().collection("users").listAuthMethods()).oauth2.providers.map(
      (p) => p.name,
    );
    expect(names).toEqual(["oidc2"]);
    const out = await server.fetch("/api/collections/users/auth-with-oauth2", {
      method: "POST",
      json: { provider: "oidc3", code: "x", codeVerifier: "y", redirectURL: REDIRECT },
    });
    expect(out.status).toBe(500);
    expect(await out.json()).toMatchObject({ message: "Missing or invalid provider config." });
  });
});
