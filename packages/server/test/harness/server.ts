import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import PocketBase from "pocketbase";
import { type Basalt, type BasaltConfig, createApp } from "../../src/main.js";

/** A running Basalt on an ephemeral port with a throwaway data folder. */
export interface TestServer {
  readonly basalt: Basalt;
  readonly url: string;
  readonly dataDir: string;
  /** A fresh SDK client pointed at the server. */
  sdk(): PocketBase;
  /** fetch against the server; `path` starts with `/`. */
  fetch(path: string, init?: RequestInit & { json?: unknown; token?: string }): Promise<Response>;
  /** Stops the server and removes the data folder. */
  stop(): Promise<void>;
}

/** The superuser every test server starts with. */
export const SUPERUSER = { email: "root@example.com", password: "root-password-123" };

/** Starts a server; the superuser above exists. Call `stop()` in afterAll/afterEach. */
export async function startServer(
  config: Partial<BasaltConfig> = {},
  opts: { dataDir?: string; beforeListen?: (basalt: Basalt) => void } = {},
): Promise<TestServer> {
  const { dataDir } = opts;
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "basalt-test-"));
  const basalt = await createApp({ dataDir: dir, http: "127.0.0.1:0", ...config }, pino({ level: "silent" }));
  await basalt.app.auth.upsertSuperuser(SUPERUSER.email, SUPERUSER.password);
  opts.beforeListen?.(basalt);
  const url = await basalt.listen();
  return {
    basalt,
    url,
    dataDir: dir,
    sdk: () => {
      const pb = new PocketBase(url);
      pb.autoCancellation(false);
      return pb;
    },
    fetch(path, init = {}) {
      const headers = new Headers(init.headers);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set("content-type", "application/json");
        body = typeof init.json === "string" ? init.json : JSON.stringify(init.json);
      }
      if (init.token) headers.set("authorization", init.token);
      return fetch(url + path, { ...init, headers, body });
    },
    async stop() {
      await basalt.close();
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Signs in as the test superuser over HTTP and returns the token. */
export async function superuserToken(server: TestServer): Promise<string> {
  const res = await server.fetch("/api/collections/_superusers/auth-with-password", {
    method: "POST",
    json: { identity: SUPERUSER.email, password: SUPERUSER.password },
  });
  if (res.status !== 200) throw new Error(`superuser sign-in failed: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

/** An SDK client signed in as the test superuser. */
export async function superuserSdk(server: TestServer): Promise<PocketBase> {
  const pb = server.sdk();
  await pb.collection("_superusers").authWithPassword(SUPERUSER.email, SUPERUSER.password);
  return pb;
}
