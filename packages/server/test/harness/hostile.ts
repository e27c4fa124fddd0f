import { type ChildProcess, fork, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestDatabase, type TestDatabase, testStore } from "./dialects.js";
import { SUPERUSER } from "./server.js";

// The machinery of the hostile-client suite (issue 10, item 7): a Basalt in its own process, a normal client
// in another, and what the suite asserts about them (resident memory, latency percentiles, statuses).

const SERVER = fileURLToPath(new URL("./hostile-server.mjs", import.meta.url));
const PROBE = fileURLToPath(new URL("./hostile-probe.mjs", import.meta.url));

/** A Basalt serving from a child process (built `dist/`), on a throwaway data folder or database. */
export interface HostileServer {
  readonly url: string;
  readonly pid: number;
  /** The child's resident memory in MiB, from /proc. */
  rssMiB(): number;
  /** True while the process runs. */
  alive(): boolean;
  /** What it printed (warnings and errors). */
  output(): string;
  stop(): Promise<void>;
}

/** Starts the server with config overrides (`seedUsers`: accounts inserted before it listens). */
export async function startHostileServer(config: Record<string, unknown>): Promise<HostileServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "basalt-hostile-"));
  let database: TestDatabase | undefined;
  if (testStore() === "postgres") database = await createTestDatabase();
  const full = {
    dataDir,
    // its own folder: the default beside the data folder is the temp dir every test shares
    migrationsDir: join(dataDir, "basalt_migrations"),
    superuser: SUPERUSER,
    ...(database ? { dbUrl: database.url, dbMaxConnections: 5 } : {}),
    ...config,
  };
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, BASALT_HOSTILE_CONFIG: JSON.stringify(full) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const deadline = Date.now() + 60_000;
  let url = "";
  while (!url && child.exitCode === null && Date.now() < deadline) {
    url = /ready (\S+)/.exec(out)?.[1] ?? "";
    if (!url) await new Promise((r) => setTimeout(r, 50));
  }
  const cleanup = async () => {
    rmSync(dataDir, { recursive: true, force: true });
    await database?.drop();
  };
  if (!url) {
    child.kill("SIGKILL");
    await cleanup();
    throw new Error(`hostile server did not start: ${out}`);
  }
  const pid = child.pid as number;
  return {
    url,
    pid,
    rssMiB: () => {
      const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
      return Number(kb) / 1024;
    },
    alive: () => child.exitCode === null && child.signalCode === null,
    output: () => out,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      await cleanup();
    },
  };
}

/** Latency figures of one endpoint over a window. */
export interface Latency {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** p50/p99/max of a list of latencies (ms). */
export function latency(samples: readonly number[]): Latency {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
  return { n: s.length, p50: at(0.5), p99: at(0.99), max: s.at(-1) ?? Number.NaN };
}

/** What the normal client saw over a window. */
export interface ProbeResult {
  readonly health: Latency;
  readonly list: Latency;
  /** status → count (0: no answer). */
  readonly statuses: Record<string, number>;
}

/** A running normal client; `stop()` ends its window and reports. */
export interface Probe {
  stop(): Promise<ProbeResult>;
}

/** Starts the normal client against `listPath`; resolves once it is measuring. */
export async function startProbe(url: string, listPath: string): Promise<Probe> {
  const child: ChildProcess = fork(PROBE, [url, listPath], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let report: (r: {
    samples: { health: number[]; list: number[] };
    statuses: Record<string, number>;
  }) => void;
  const result = new Promise<Parameters<typeof report>[0]>((r) => {
    report = r;
  });
  await new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.on("message", (m) => {
      if (m === "started") resolve();
      else report(m as Parameters<typeof report>[0]);
    });
  });
  return {
    async stop() {
      child.send("stop");
      const r = await result;
      return { health: latency(r.samples.health), list: latency(r.samples.list), statuses: r.statuses };
    },
  };
}

/** Counts statuses (0 for a connection that got no answer). */
export class StatusTally {
  readonly counts: Record<string, number> = {};
  add(status: number): void {
    this.counts[status] = (this.counts[status] ?? 0) + 1;
  }
  /** The statuses seen, ascending. */
  seen(): number[] {
    return Object.keys(this.counts)
      .map(Number)
      .sort((a, b) => a - b);
  }
  count(status: number): number {
    return this.counts[status] ?? 0;
  }
}

/**
 * Runs `attack(i)` (i counts up across loops) from `workers` concurrent loops until `ms` have passed, each
 * loop awaiting its request; resolves with how many ran.
 */
export async function during(
  ms: number,
  workers: number,
  attack: (i: number) => Promise<void>,
): Promise<number> {
  const end = Date.now() + ms;
  let done = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (Date.now() < end) await attack(done++);
    }),
  );
  return done;
}
