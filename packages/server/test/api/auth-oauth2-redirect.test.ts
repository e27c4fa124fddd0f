import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OidcServer, startOidcServer } from "../harness/fixtures/oidc-server.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";
import { installEventSource, openSse } from "../harness/sse.js";

installEventSource();

let server: TestServer;
let oidc: OidcServer;

beforeAll(async () => {
  oidc = await startOidcServer();
  server = await startServer();
  const su = await superuserSdk(server);
  await su.collections.update("users", {
    oauth2: {
      enabled: true,
      providers: [
        {
          name: "oidc",
          clientId: "oidc-client",
          clientSecret: "oidc-secret",
          authURL: `${oidc.url}/authorize`,
          tokenURL: `${oidc.url}/token`,
          userInfoURL: `${oidc.url}/userinfo`,
          displayName: "",
          pkce: null,
          extra: {},
        },
      ],
    },
  });
});
afterAll(async () => {
  await server.stop();
  await oidc.stop();
});

async function subscribedClient() {
  const sse = await openSse(server.url);
  const res = await server.fetch("/api/realtime", {
    method: "POST",
    json: { clientId: sse.clientId, subscriptions: ["@oauth2"] },
  });
  expect(res.status).toBe(204);
  return sse;
}

describe("/api/oauth2-redirect", () => {
  it("hands {state, code, error} to the realtime client named by state and redirects to the success page", async () => {
    const sse = await subscribedClient();
    const res = await server.fetch(`/api/oauth2-redirect?state=${sse.clientId}&code=abc123`, {
      redirect: "manual",
    });
    expect(res.status).toBe(307);
    expect(res.headers.get("location")).toBe("../_/#/auth/oauth2-redirect-success");
    const frame = await sse.next("@oauth2");
    expect(frame.data).toEqual({ state: sse.clientId, code: "abc123", error: "" });
    sse.close();
  });

  it("sends the provider's error and redirects to the failure page", async () => {
    const sse = await subscribedClient();
    const res = await server.fetch(`/api/oauth2-redirect?state=${sse.clientId}&error=access_denied`, {
      redirect: "manual",
    });
    expect(res.headers.get("location")).toBe("../_/#/auth/oauth2-redirect-failure");
    expect((await sse.next("@oauth2")).data).toEqual({
      state: sse.clientId,
      code: "",
      error: "access_denied",
    });
    sse.close();
  });

  it("accepts a form post (Apple's form_post) with a 303", async () => {
    const sse = await subscribedClient();
    const res = await server.fetch("/api/oauth2-redirect", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ state: sse.clientId, code: "form-code" }).toString(),
      redirect: "manual",
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("../_/#/auth/oauth2-redirect-success");
    expect((await sse.next("@oauth2")).data).toMatchObject({ code: "form-code" });
    sse.close();
  });

  it("fails for a missing or unknown state, or a client not subscribed to @oauth2, sending nothing", async () => {
    // With a shared bus (PostgreSQL or Redis) an unknown client may live on another instance, so only a
    // process-local bus can tell that a state names no one.
    const shared = server.basalt.app.realtime.sharedBus;
    for (const q of ["", "?code=x", ...(shared ? [] : ["?state=nope&code=x"])]) {
      const res = await server.fetch(`/api/oauth2-redirect${q}`, { redirect: "manual" });
      expect(res.headers.get("location"), q).toBe("../_/#/auth/oauth2-redirect-failure");
    }
    const other = await openSse(server.url);
    const res = await server.fetch(`/api/oauth2-redirect?state=${other.clientId}&code=x`, {
      redirect: "manual",
    });
    expect(res.headers.get("location")).toBe("../_/#/auth/oauth2-redirect-failure");
    await expect(other.next("@oauth2", 300)).rejects.toThrow();
    other.close();
  });

  it("completes the SDK's all-in-one authWithOAuth2({provider}) flow end to end", async () => {
    oidc.setUser({ sub: "popup-user", email: "popup@example.com", email_verified: true, name: "Pop Up" });
    const pb = server.sdk();
    const auth = await pb.collection("users").authWithOAuth2({
      provider: "oidc",
      // plays the browser popup: the provider's page, then its redirect back to Basalt
      urlCallback: async (url) => {
        const atProvider = await fetch(url, { redirect: "manual" });
        const back = atProvider.headers.get("location");
        if (!back) throw new Error(`provider answered ${atProvider.status}`);
        await fetch(back, { redirect: "manual" });
      },
    });
    expect(auth.record.email).toBe("popup@example.com");
    expect(pb.authStore.isValid).toBe(true);
    expect(auth.meta?.isNew).toBe(true);
  });
});
