import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Logger, pino } from "pino";
import PocketBase from "pocketbase";
import { type Basalt, type BasaltConfig, createApp } from "../../src/main.js";
import { createTestDatabase, type TestDatabase, type TestStore, testStore } from "./dialects.js";

/** A running Basalt on an ephemeral port with a throwaway data folder. */
export interface TestServer {
  readonly basalt: Basalt;
  readonly url: string;
  readonly dataDir: string;
  /** The store the server keeps its data in. */
  readonly store: TestStore;
  /** A fresh SDK client pointed at the server. */
  sdk(): PocketBase;
  /** fetch against the server; `path` starts with `/`. */
  fetch(path: string, init?: RequestInit & { json?: unknown; token?: string }): Promise<Response>;
  /** Stops the server and removes the data folder. */
  stop(): Promise<void>;
  /**
   * Resolves when the server has restarted itself (after a backup restore) and listens again on the same
   * address; `basalt` is then the new instance.
   */
  restarted(): Promise<void>;
}

/** The superuser every test server starts with. */
export const SUPERUSER = { email: "root@example.com", password: "root-password-123" };

/**
 * Starts a server; the superuser above exists. Call `stop()` in afterAll/afterEach. The store is the test
 * project's (BASALT_TEST_STORE) unless `opts.store` says otherwise; on PostgreSQL each server gets a
 * throwaway database, and servers started with the same `dataDir` share one (a restart).
 */
export async function startServer(
  config: Partial<BasaltConfig> = {},
  opts: {
    dataDir?: string;
    store?: TestStore;
    beforeListen?: (basalt: Basalt) => void;
    /** The server's logger (silent by default). */
    logger?: Logger;
  } = {},
): Promise<TestServer> {
  const { dataDir } = opts;
  const store = opts.store ?? testStore();
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "basalt-test-"));
  let database: TestDatabase | undefined;
  if (store === "postgres" && !config.dbUrl) database = await createTestDatabase(dataDir);
  const full: Partial<BasaltConfig> = {
    dataDir: dir,
    // the default (`basalt_migrations` beside the data folder) would be the temp dir itself, shared by every
    // test: a `--dev` server's automigrate files would then be applied by every later server
    migrationsDir: join(dir, "basalt_migrations"),
    http: "127.0.0.1:0",
    ...(database ? { dbUrl: database.url, dbMaxConnections: 5 } : {}),
    ...config,
  };
  let started: Basalt | undefined;
  try {
    started = await createApp(full, opts.logger ?? pino({ level: "silent" }));
    await started.app.auth.upsertSuperuser(SUPERUSER.email, SUPERUSER.password);
  } catch (err) {
    await started?.close();
    if (!dataDir) await database?.drop();
    throw err;
  }
  let basalt = started;
  opts.beforeListen?.(basalt);
  const url = await basalt.listen();
  // a backup restore restarts the server: a new Basalt on the same data and port (no superuser upsert: the
  // restored data decides who exists)
  let waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  const restartable = (b: Basalt) => {
    b.onRestart(async () => {
      const done = waiters;
      waiters = [];
      try {
        const next = await createApp(
          { ...full, http: url.replace(/^http:\/\//, "") },
          opts.logger ?? pino({ level: "silent" }),
        );
        restartable(next);
        await next.listen();
        basalt = next;
        for (const w of done) w.resolve();
      } catch (err) {
        for (const w of done) w.reject(err);
      }
    });
  };
  restartable(basalt);
  return {
    get basalt() {
      return basalt;
    },
    url,
    restarted: () => new Promise<void>((resolve, reject) => waiters.push({ resolve, reject })),
    dataDir: dir,
    store,
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
      if (dataDir) return;
      rmSync(dir, { recursive: true, force: true });
      // a database shared through a data folder is dropped with the rest of the run's databases
      await database?.drop();
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
