import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";

let server: TestServer;
let token = "";
beforeAll(async () => {
  server = await startServer();
  token = await superuserToken(server);
});
afterAll(() => server.stop());

describe("settings", () => {
  it("stores SMTP settings but never shows the password back", async () => {
    const smtp = {
      enabled: true,
      host: "127.0.0.1",
      port: 2525,
      username: "mailer",
      password: "s3cret-pass",
      tls: false,
    };
    const res = await server.fetch("/api/settings", { method: "PATCH", token, json: { smtp } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { smtp: Record<string, unknown> };
    expect(body.smtp).toMatchObject({
      enabled: true,
      host: "127.0.0.1",
      port: 2525,
      username: "mailer",
      password: "",
    });
    const view = (await (await server.fetch("/api/settings", { token })).json()) as {
      smtp: { password: string };
    };
    expect(view.smtp.password).toBe("");
    expect(JSON.stringify(view)).not.toContain("s3cret-pass");
    // an empty password in a later update keeps the stored one
    await server.fetch("/api/settings", {
      method: "PATCH",
      token,
      json: { smtp: { password: "", port: 2526 } },
    });
    expect(server.basalt.app.settings.get().smtp).toMatchObject({ password: "s3cret-pass", port: 2526 });
  });

  it("refuses invalid SMTP settings and changes nothing", async () => {
    const before = server.basalt.app.settings.get();
    for (const smtp of [
      { port: "25" },
      { enabled: true, host: "" },
      { authMethod: "CRAM" },
      { port: 70000, enabled: true },
    ]) {
      const res = await server.fetch("/api/settings", { method: "PATCH", token, json: { smtp } });
      expect(res.status, JSON.stringify(smtp)).toBe(400);
    }
    expect(server.basalt.app.settings.get()).toEqual(before);
    expect((await server.fetch("/api/settings")).status).toBe(401);
  });
});
