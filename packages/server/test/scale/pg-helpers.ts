import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { isCi, postgresProblem } from "../harness/dialects.js";

/**
 * True when the test PostgreSQL is selected and answers. Unreachable: under CI=true this throws (the run
 * fails); otherwise it prints why the suite is skipped and returns false.
 */
export async function postgresAvailable(suite: string): Promise<boolean> {
  const selected = (process.env.BASALT_TEST_DIALECTS ?? "sqlite,postgres").split(",").includes("postgres");
  const problem = selected ? await postgresProblem() : "not selected by BASALT_TEST_DIALECTS";
  if (!problem) return true;
  if (isCi() && selected) throw new Error(`${suite}: cannot reach PostgreSQL (${problem}) and CI is set.`);
  console.warn(`\n  ${suite} SKIPPED: PostgreSQL ${problem}; set BASALT_TEST_PG_URL to run it.\n`);
  return false;
}

/** Runs one statement on a database, on a connection of its own. */
export async function sql<T extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Terminates every other session connected to a database; returns how many. */
export async function terminateSessions(adminUrl: string, database: string): Promise<number> {
  const rows = await sql<{ n: number }>(
    adminUrl,
    "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    [database],
  );
  return rows[0]?.n ?? 0;
}

/** A throwaway PostgreSQL server of a test's own on a loopback port, to stop and start for fault tests. */
export interface OwnPostgres {
  /** The URL of its `postgres` database. */
  readonly url: string;
  start(): Promise<void>;
  /** Stops the server abruptly (`pg_ctl stop -m immediate`: like a crash, with WAL recovery at start). */
  stop(): Promise<void>;
  /** Stops the server and removes its files. */
  destroy(): Promise<void>;
}

function binDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  const fromConfig = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
  const candidates = [
    ...(fromConfig.status === 0 ? [fromConfig.stdout.trim()] : []),
    ...(existsSync(root) ? readdirSync(root).sort((x, y) => Number(y) - Number(x)) : []).map((v) =>
      join(root, v, "bin"),
    ),
  ];
  return candidates.find((d) => existsSync(join(d, "initdb")) && existsSync(join(d, "pg_ctl")));
}

/** How to run the server binaries: directly, or as the `postgres` user when this process is root. */
function runner(): { prefix: string[]; uid?: number; gid?: number } | undefined {
  if (process.getuid?.() !== 0) return { prefix: [] };
  const id = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  if (id.status !== 0 || spawnSync("runuser", ["--help"], { stdio: "ignore" }).status !== 0) return undefined;
  return { prefix: ["runuser", "-u", "postgres", "--"], uid: Number(id.stdout), gid: Number(gid.stdout) };
}

/** Why a private PostgreSQL cannot be run here, or null when it can. */
export function ownPostgresProblem(): string | null {
  if (!binDir()) return "no initdb/pg_ctl found (pg_config --bindir, /usr/lib/postgresql/*/bin)";
  if (!runner()) return "running as root without a postgres user and runuser";
  return null;
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

function run(cmd: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(cmd[0], cmd.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd.join(" ")}: ${err}`))));
  });
}

/** initdb + pg_ctl start of a private server (trust auth, loopback only, socket in its own folder). */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const bin = binDir();
  const as = runner();
  if (!bin || !as) throw new Error(ownPostgresProblem() ?? "cannot run PostgreSQL");
  const dir = mkdtempSync(join(tmpdir(), "basalt-pg-"));
  if (as.uid !== undefined) chownSync(dir, as.uid, as.gid ?? as.uid);
  const data = join(dir, "data");
  const port = await freePort();
  const ctl = (args: string[]) => run([...as.prefix, join(bin, "pg_ctl"), "-D", data, ...args]);
  await run([...as.prefix, join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
  const own: OwnPostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: () => ctl(["-o", opts, "-l", join(dir, "log"), "-w", "-t", "20", "start"]),
    stop: () => ctl(["-m", "immediate", "-w", "stop"]),
    async destroy() {
      await own.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await own.start();
  return own;
}
