import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../harness/fixtures/users.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
  await createUser(server, "dora@example.com", "dora-password-1");
});
afterAll(() => server.stop());

function expiresIn(token: string): number {
  const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()) as { exp: number };
  return claims.exp - Math.floor(Date.now() / 1000);
}

describe("token durations come from the auth collection's options", () => {
  it("superusers get 1 day by default, users the collection's authToken duration", async () => {
    const su = await superuserSdk(server);
    expect(expiresIn(su.authStore.token)).toBeGreaterThan(86400 - 5);
    expect(expiresIn(su.authStore.token)).toBeLessThanOrEqual(86400);
    await su.collections.update("users", { authToken: { duration: 120 } });
    const pb = server.sdk();
    await pb.collection("users").authWithPassword("dora@example.com", "dora-password-1");
    expect(expiresIn(pb.authStore.token)).toBeGreaterThan(115);
    expect(expiresIn(pb.authStore.token)).toBeLessThanOrEqual(120);
    const refreshed = await pb.collection("users").authRefresh();
    expect(expiresIn(refreshed.token)).toBeLessThanOrEqual(120);
  });

  it("impersonation tokens last the requested duration and cannot be refreshed into longer ones", async () => {
    const su = await superuserSdk(server);
    const dora = await su.collection("users").getFirstListItem('email = "dora@example.com"');
    const client = await su.collection("users").impersonate(dora.id, 45);
    expect(expiresIn(client.authStore.token)).toBeGreaterThan(40);
    expect(expiresIn(client.authStore.token)).toBeLessThanOrEqual(45);
    const again = await client.collection("users").authRefresh();
    expect(again.token).toBe(client.authStore.token);
  });
});
