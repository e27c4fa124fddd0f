import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { Redis } from "ioredis";
import { isCi } from "./dialects.js";

/** The Redis the scale-out tests share; each test file works under its own key prefix. */
export const REDIS_TEST_URL = process.env.BASALT_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** A client that fails at once instead of retrying (tests only). */
export function testRedisClient(url: string = REDIS_TEST_URL): Redis {
  return new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
}

/** Why Redis cannot be used for tests, or null when it answers PING. */
export async function redisProblem(url: string = REDIS_TEST_URL): Promise<string | null> {
  const client = testRedisClient(url);
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.ping();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message || String(err) : String(err);
  } finally {
    client.disconnect();
  }
}

/**
 * True when the shared test Redis answers. When it does not: under CI=true this throws (the run fails);
 * otherwise it prints why the suite is skipped and returns false.
 */
export async function redisAvailable(suite: string): Promise<boolean> {
  const problem = await redisProblem();
  if (!problem) return true;
  if (isCi())
    throw new Error(`${suite}: cannot reach Redis at ${REDIS_TEST_URL} (${problem}) and CI is set.`);
  console.warn(
    `\n  ${suite} SKIPPED: cannot reach Redis at ${REDIS_TEST_URL} (${problem}).\n` +
      "  Start redis-server on 127.0.0.1:6379 or set BASALT_TEST_REDIS_URL.\n",
  );
  return false;
}

/** A key prefix of its own for one test file: `basalt-test:<run>:<random>:`. */
export function uniquePrefix(): string {
  return `basalt-test:${process.env.BASALT_TEST_RUN ?? "local"}:${randomBytes(4).toString("hex")}:`;
}

/** Deletes every key under a prefix (SCAN, never KEYS). */
export async function deleteKeys(prefix: string, url: string = REDIS_TEST_URL): Promise<void> {
  const client = testRedisClient(url);
  client.on("error", () => undefined);
  try {
    await client.connect();
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
      if (keys.length) await client.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
}

/** A throwaway redis-server on a loopback port, to stop and start for fault tests. */
export interface OwnRedis {
  readonly url: string;
  readonly port: number;
  /** Starts (or restarts) the server on the same port; resolves once it answers PING. */
  start(): Promise<void>;
  /** Kills the server (SIGKILL: an abrupt outage) and waits for it to exit. */
  stop(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open and nothing answers, a hung Redis. */
  pause(): void;
  /** Thaws a paused server (SIGCONT). */
  resume(): void;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** True when a `redis-server` binary can be run; else skips outside CI (with a message) and throws under CI. */
export function redisServerAvailable(suite: string): boolean {
  const probe = spawnSync("redis-server", ["--version"], { stdio: "ignore" });
  if (!probe.error && probe.status === 0) return true;
  const why = probe.error?.message ?? `exit status ${String(probe.status)}`;
  if (isCi()) throw new Error(`${suite}: cannot run redis-server (${why}) and CI is set.`);
  console.warn(`\n  ${suite} SKIPPED: cannot run redis-server (${why}); install Redis to run it.\n`);
  return false;
}

/** Spawns `redis-server` with no persistence on a random loopback port; `stop()` it in afterAll. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const own: OwnRedis = {
    url,
    port,
    async start() {
      const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
      const proc = spawn("redis-server", [...args, "--daemonize", "no"], { stdio: "ignore" });
      child = proc;
      const failed = new Promise<never>((_, reject) => proc.once("error", reject));
      failed.catch(() => undefined);
      const deadline = Date.now() + 5_000;
      while ((await redisProblem(url)) !== null) {
        if (Date.now() > deadline || proc.exitCode !== null)
          throw new Error(`redis-server on ${port} did not start`);
        await Promise.race([new Promise((r) => setTimeout(r, 50)), failed]);
      }
    },
    pause() {
      child?.kill("SIGSTOP");
    },
    resume() {
      child?.kill("SIGCONT");
    },
    async stop() {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((resolve) => proc.once("exit", resolve));
      proc.kill("SIGKILL");
      await exited;
    },
  };
  await own.start();
  return own;
}
