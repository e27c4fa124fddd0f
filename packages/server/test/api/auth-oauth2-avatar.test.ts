import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { png } from "../harness/fixtures/files.js";
import { type OidcServer, startOidcServer } from "../harness/fixtures/oidc-server.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

// Issue 12, item 6: the OAuth2 sign-up stores the provider's avatar into the auth collection's file field
// (`oauth2.mappedFields.avatarURL`, `avatar` in the default users collection), fetched with SSRF care.
const REDIRECT = "https://app.example.test/oauth2-callback";
let oidc: OidcServer;
let pictures: Server;
let picturesUrl = "";
const hits: string[] = [];
let picture: Buffer;
/** Loopback allowed explicitly (the provider and its pictures run on 127.0.0.1 here). */
let allowing: TestServer;
/** The default: public addresses only. */
let strict: TestServer;

beforeAll(async () => {
  picture = await png(40, 40);
  pictures = createServer((req, res) => {
    hits.push(req.url ?? "");
    if (req.url === "/me.png") return res.end(picture);
    if (req.url === "/page.html") return res.end("<!doctype html><script>1</script>");
    if (req.url === "/huge.png") {
      res.setHeader("content-type", "image/png");
      // no Content-Length: the cap must hold as the bytes arrive
      res.write(picture);
      const chunk = Buffer.alloc(64 * 1024);
      let sent = 0;
      const more = () => {
        while (sent < 20 << 20) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", more);
        }
        res.end();
      };
      res.on("error", () => undefined);
      return more();
    }
    if (req.url === "/moved") {
      res.statusCode = 302;
      res.setHeader("location", "/me.png");
      return res.end();
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => pictures.listen(0, "127.0.0.1", r));
  picturesUrl = `http://127.0.0.1:${(pictures.address() as AddressInfo).port}`;
  oidc = await startOidcServer();
  allowing = await startServer({ oauth2AvatarAllowedTargets: ["loopback"] });
  strict = await startServer();
  for (const server of [allowing, strict]) {
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
          },
        ],
      },
    });
  }
});
afterAll(async () => {
  await Promise.all([allowing.stop(), strict.stop(), oidc.stop()]);
  await new Promise((r) => pictures.close(r));
});

async function signUp(server: TestServer, sub: string, pictureUrl: string) {
  oidc.setUser({ sub, email: `${sub}@example.com`, email_verified: true, name: sub, picture: pictureUrl });
  const pb = server.sdk();
  const methods = await pb.collection("users").listAuthMethods();
  const p = methods.oauth2.providers[0];
  const { code } = await oidc.authorize(p.authURL, REDIRECT);
  const auth = await pb.collection("users").authWithOAuth2Code("oidc", code, p.codeVerifier, REDIRECT);
  return { pb, auth };
}

describe("the provider's avatar on OAuth2 sign-up", () => {
  it("is fetched into the avatar file field (loopback allowed by the config), following a redirect", async () => {
    const { pb, auth } = await signUp(allowing, "pic-1", `${picturesUrl}/moved`);
    expect(auth.meta?.isNew).toBe(true);
    expect(auth.record.avatar).toMatch(/^moved_[a-z0-9]{10}\.png$/); // named after the URL the provider gave
    const res = await fetch(pb.files.getURL(auth.record, auth.record.avatar));
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await res.arrayBuffer())).toEqual(picture);
  });

  it("is not fetched from a loopback address by default: the sign-up goes on without it", async () => {
    hits.length = 0;
    const { auth } = await signUp(strict, "pic-2", `${picturesUrl}/me.png`);
    expect(auth.meta?.isNew).toBe(true);
    expect(auth.record.avatar).toBe("");
    expect(hits).toEqual([]);
  });

  it("is left out when larger than the field's maxSize, or of a type the field does not take", async () => {
    const su = await superuserSdk(allowing);
    const users = await su.collections.getOne("users");
    await su.collections.update("users", {
      fields: users.fields.map((f) => (f.name === "avatar" ? { ...f, maxSize: 1 << 20 } : f)),
    });
    const big = await signUp(allowing, "pic-3", `${picturesUrl}/huge.png`);
    expect([big.auth.meta?.isNew, big.auth.record.avatar]).toEqual([true, ""]);
    const html = await signUp(allowing, "pic-4", `${picturesUrl}/page.html`);
    expect([html.auth.meta?.isNew, html.auth.record.avatar]).toEqual([true, ""]);
    const missing = await signUp(allowing, "pic-5", `${picturesUrl}/nothing.png`);
    expect([missing.auth.meta?.isNew, missing.auth.record.avatar]).toEqual([true, ""]);
    // link-local (cloud metadata) addresses are refused whatever the config says
    const metadata = await signUp(allowing, "pic-6", "http://169.254.169.254/latest/meta-data/x.png");
    expect(metadata.auth.record.avatar).toBe("");
  });
});
