import cluster from "node:cluster";
import type { Logger } from "pino";
import { InstallerService } from "../auth/index.js";
import { openApp } from "../core/app.js";
import { type BasaltConfig, DEFAULT_CONFIG as DEFAULT_SERVE_CONFIG } from "../core/config.js";
import { BasaltError } from "../errors/index.js";
import { type Basalt, createApp, createLogger } from "../main.js";
import { Migrator, migrationsDirFor } from "../migrations/index.js";
import { prepareDataDir } from "./data-dir.js";
import { encryptionFrom } from "./encryption.js";
import { fail } from "./fail.js";
import { checkListenAddress, checkPortFree, startupSuperuser } from "./preflight.js";
import { redactDbUrl } from "./transfer-summary.js";
import { WorkerSupervisor } from "./workers-supervisor.js";

/** The options `basalt serve` parses. */
export interface ServeOptions {
  http: string;
  dir: string;
  /** A PostgreSQL URL; absent keeps SQLite in `dir`. */
  db?: string;
  /** A Redis URL; absent keeps the realtime bus and rate limits in this process. */
  redis?: string;
  redisPrefix: string;
  origins: string;
  logLevel: BasaltConfig["logLevel"];
  logFormat: BasaltConfig["logFormat"];
  metrics: boolean;
  metricsToken?: string;
  bodyLimit: number;
  sqliteSync: "NORMAL" | "FULL";
  appUrl?: string;
  appName: string;
  trustedProxies: string;
  shutdownTimeout: number;
  realtimeMaxClients: number;
  realtimeMaxClientsPerIp: number;
  realtimeMaxSubscriptionBytes: number;
  realtimeMaxSubscriptionBytesPerIp: number;
  realtimeMaxSubscriptionBytesTotal: number;
  realtimeMaxOptionsPerCollection: number;
  realtimeMaxChecksPerEvent: number;
  expandMaxRecords: number;
  maxConnectionsPerIp: number;
  filterMaxFanout: number;
  filterMaxJoins: number;
  queryTimeout: number;
  sqliteOffloadAfter: number;
  sqliteReadThreads: number | "auto";
  publicDir: string;
  indexFallback: boolean;
  hooksDir?: string;
  dev?: boolean;
  typesOut?: string;
  migrationsDir?: string;
  /** false with `--no-migrate`. */
  migrate: boolean;
  automigrate?: boolean;
  graphqlIntrospection: BasaltConfig["graphqlIntrospection"];
  graphqlMaxDepth: number;
  graphqlMaxCost: number;
  graphqlMaxAliases: number;
  graphqlMaxPerPage: number;
  oauth2AvatarAllowedTargets: ("loopback" | "private")[];
  encryptionEnv?: string;
  /** How many processes serve (`--workers`, "auto" already resolved); 1 keeps the single process. */
  workers?: number;
}

// Set by the primary in its workers' environment: marks the process as a worker of `basalt serve --workers`,
// and carries the installer link's digest and expiry (never the token) so every worker accepts it.
const WORKER_ENV = "BASALT_SERVE_WORKER";
const INSTALLER_ENV = "BASALT_SERVE_INSTALLER";

const list = (value: string) =>
  value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/** The app configuration the serve flags describe. */
function serveConfig(opts: ServeOptions, dataDir: string): Partial<BasaltConfig> {
  return {
    http: opts.http,
    dataDir,
    dbUrl: opts.db ?? "",
    redisUrl: opts.redis ?? "",
    redisPrefix: opts.redisPrefix,
    origins: list(opts.origins).length ? list(opts.origins) : ["*"],
    logLevel: opts.logLevel,
    logFormat: opts.logFormat,
    metrics: opts.metrics || Boolean(opts.metricsToken),
    metricsToken: opts.metricsToken ?? "",
    bodyLimit: opts.bodyLimit,
    sqliteSynchronous: opts.sqliteSync,
    sqliteOffloadAfterMs: opts.sqliteOffloadAfter,
    sqliteReadThreads: opts.sqliteReadThreads,
    appUrl: opts.appUrl ?? `http://${opts.http.replace(/^0\.0\.0\.0:/, "127.0.0.1:")}`,
    appName: opts.appName,
    trustedProxies: list(opts.trustedProxies),
    shutdownTimeoutMs: opts.shutdownTimeout,
    realtimeMaxClients: opts.realtimeMaxClients,
    realtimeMaxClientsPerIp: opts.realtimeMaxClientsPerIp,
    realtimeMaxSubscriptionBytes: opts.realtimeMaxSubscriptionBytes,
    realtimeMaxSubscriptionBytesPerIp: opts.realtimeMaxSubscriptionBytesPerIp,
    realtimeMaxSubscriptionBytesTotal: opts.realtimeMaxSubscriptionBytesTotal,
    realtimeMaxOptionsPerCollection: opts.realtimeMaxOptionsPerCollection,
    realtimeMaxChecksPerEvent: opts.realtimeMaxChecksPerEvent,
    expandMaxRecords: opts.expandMaxRecords,
    maxConnectionsPerIp: opts.maxConnectionsPerIp,
    filterMaxFanout: opts.filterMaxFanout,
    filterMaxJoins: opts.filterMaxJoins,
    queryTimeoutMs: opts.queryTimeout,
    publicDir: opts.publicDir,
    oauth2AvatarAllowedTargets: opts.oauth2AvatarAllowedTargets,
    indexFallback: opts.indexFallback,
    hooksDir: opts.hooksDir ?? "",
    dev: opts.dev === true,
    typesOut: opts.typesOut ?? "",
    migrationsDir: opts.migrationsDir ?? "",
    migrate: opts.migrate !== false,
    automigrate: opts.automigrate ?? null,
    graphqlIntrospection: opts.graphqlIntrospection,
    graphqlMaxDepth: opts.graphqlMaxDepth,
    graphqlMaxCost: opts.graphqlMaxCost,
    graphqlMaxAliases: opts.graphqlMaxAliases,
    graphqlMaxPerPage: opts.graphqlMaxPerPage,
    ...encryptionFrom(opts),
  };
}

/** The lines printed once the server listens: where, on what, and how to create the first superuser. */
function banner(
  opts: ServeOptions,
  url: string,
  dataDir: string,
  installerToken: string | null,
  applied: readonly string[],
): string {
  const store = opts.db ? `PostgreSQL at ${redactDbUrl(opts.db)}` : `the data folder ${dataDir}`;
  const workers = (opts.workers ?? 1) > 1 ? ` (${opts.workers} worker processes)` : "";
  const lines = [`Basalt serving ${url}/api/ with ${store}${workers}`, `Dashboard: ${url}/_/`];
  if (applied.length)
    lines.unshift(
      `Applied ${applied.length} migration${applied.length === 1 ? "" : "s"}: ${applied.join(", ")}`,
    );
  if (installerToken) {
    // The installer link only works from this machine (see api/installer.ts), so it names loopback.
    const local = url.replace(/^http:\/\/(0\.0\.0\.0|\[::\])(?=:)/, "http://127.0.0.1");
    lines.push(
      "No superuser yet. Open this one-time link on this machine within 30 minutes to create the first one:",
      `  ${local}/_/#/install/${installerToken}`,
      `Or create one with: npx basalt superuser upsert EMAIL PASSWORD ${opts.db ? "--db URL" : `--dir ${opts.dir}`}` +
        " (or set BASALT_SUPERUSER_EMAIL and BASALT_SUPERUSER_PASSWORD)",
    );
  }
  // One write, so whoever waits for "Basalt serving" also reads the first-superuser help.
  return lines.join("\n");
}

/**
 * `basalt serve`: opens the data folder, serves until SIGTERM/SIGINT, then drains and exits 0. With
 * `--workers N` (N > 1) this process becomes the primary of N workers (see `runPrimary`).
 */
export async function runServe(opts: ServeOptions): Promise<void> {
  if (cluster.isWorker && process.env[WORKER_ENV] === "1") return runWorker(opts);
  if ((opts.workers ?? 1) > 1) return runPrimary(opts);
  let basalt: Awaited<ReturnType<typeof createApp>> | undefined;
  // a backup restore stops the running Basalt; a new one on the same configuration applies it and serves
  const restartable = (b: Basalt, config: Partial<BasaltConfig>, log: Logger): Basalt => {
    b.onRestart(async () => {
      try {
        const next = restartable(await createApp(config, log), config, log);
        basalt = next;
        const url = await next.listen();
        console.log(`Basalt restarted onto the restored data, serving ${url}/api/`);
      } catch (err) {
        fail(err);
      }
    });
    return b;
  };
  try {
    // everything that can be refused is checked before the data folder is created or opened
    const addr = checkListenAddress(opts.http);
    const superuser = startupSuperuser(process.env);
    await checkPortFree(opts.http, addr);
    const dataDir = prepareDataDir(opts.dir);
    const config = serveConfig(opts, dataDir);
    const log = createLogger(opts.logLevel, opts.logFormat);
    process.on("unhandledRejection", (reason) => log.error({ err: reason }, "unhandled promise rejection"));
    basalt = restartable(await createApp(config, log), config, log);
    if (superuser) {
      const result = await basalt.app.auth.upsertSuperuser(superuser.email, superuser.password);
      console.log(`Superuser ${superuser.email.toLowerCase()} ${result} from BASALT_SUPERUSER_EMAIL.`);
    }
    const url = await basalt.listen();
    const token = (await basalt.app.auth.countSuperusers()) === 0 ? basalt.app.installer.issue() : null;
    console.log(banner(opts, url, dataDir, token, basalt.migrations.applied));
  } catch (err) {
    await basalt?.close().catch(() => undefined);
    fail(err);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal} received: finishing in-flight requests, then closing the database.`);
    basalt!.close().then(
      () => process.exit(0),
      (err) => {
        console.error(`Error while shutting down: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

/**
 * The primary of `basalt serve --workers N` (issue 19). The start-up work done once per start happens here,
 * before any worker exists: the checks, the schema bootstrap, the superuser from the environment, the
 * installer link and the banner. Then it forks the workers (see WorkerSupervisor), serves nothing itself,
 * and on SIGTERM/SIGINT drains every worker and exits 0; SIGHUP replaces the workers one by one.
 */
async function runPrimary(opts: ServeOptions): Promise<void> {
  const count = opts.workers ?? 1;
  let supervisor: WorkerSupervisor;
  let dataDir: string;
  let token: string | null = null;
  let applied: string[] = [];
  const env: Record<string, string> = { [WORKER_ENV]: "1" };
  try {
    if (opts.dev) throw new BasaltError("BASALT_ERR_SERVE_WORKERS_DEV");
    const addr = checkListenAddress(opts.http);
    const superuser = startupSuperuser(process.env);
    await checkPortFree(opts.http, addr);
    dataDir = prepareDataDir(opts.dir);
    const log = createLogger(opts.logLevel, opts.logFormat);
    process.on("unhandledRejection", (reason) => log.error({ err: reason }, "unhandled promise rejection"));
    // the schema and system rows are created here once; the workers then open an initialised store
    const config = { ...DEFAULT_SERVE_CONFIG, ...serveConfig(opts, dataDir) };
    const app = await openApp(config, log);
    try {
      // pending migrations too (each in its locked transaction): the workers then find none left
      if (config.migrate) applied = await new Migrator(app, migrationsDirFor(config)).up();
      if (superuser) {
        const result = await app.auth.upsertSuperuser(superuser.email, superuser.password);
        console.log(`Superuser ${superuser.email.toLowerCase()} ${result} from BASALT_SUPERUSER_EMAIL.`);
      }
      if ((await app.auth.countSuperusers()) === 0) {
        const installer = new InstallerService();
        token = installer.issue();
        const shared = installer.shared;
        if (shared) env[INSTALLER_ENV] = `${shared.digest}:${shared.expiresAt}`;
      }
    } finally {
      await app.close();
    }
    supervisor = new WorkerSupervisor({
      count,
      env,
      shutdownTimeoutMs: opts.shutdownTimeout,
      print: (line) => console.log(line),
    });
  } catch (err) {
    fail(err);
  }
  const running = supervisor;
  // the signals are handled from the first fork on: a SIGTERM while the workers start still drains them
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal} received: each worker finishes its in-flight requests, then closes the database.`);
    running.stop().then(
      (clean) => process.exit(clean ? 0 : 1),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGHUP", () => {
    if (stopping) return;
    console.log("SIGHUP received: replacing the workers one at a time.");
    void running.rollingRestart().then(() => {
      if (!stopping) console.log("Rolling restart done.");
    });
  });
  try {
    const url = await running.start();
    console.log(banner(opts, url, dataDir, token, applied));
  } catch (err) {
    // a stop asked for while starting ends the process itself, once the workers are gone
    if (!stopping) fail(err);
  }
}

/**
 * A worker of `basalt serve --workers`: the same server as a single process, minus the one-time start work
 * (the primary did it) and the banner; it tells the primary when it listens, and drains on SIGTERM.
 */
async function runWorker(opts: ServeOptions): Promise<void> {
  let basalt: Awaited<ReturnType<typeof createApp>> | undefined;
  try {
    const dataDir = prepareDataDir(opts.dir);
    const log = createLogger(opts.logLevel, opts.logFormat);
    process.on("unhandledRejection", (reason) => log.error({ err: reason }, "unhandled promise rejection"));
    // No onRestart handler: a backup restore would replace the data under the sibling workers, so under
    // --workers restores are refused (restore with one process, then start the workers again).
    basalt = await createApp({ ...serveConfig(opts, dataDir), clusterWorker: true }, log);
    const installer = /^([0-9a-f]{64}):(\d+)$/.exec(process.env[INSTALLER_ENV] ?? "");
    delete process.env[INSTALLER_ENV];
    if (installer) basalt.app.installer.adopt({ digest: installer[1], expiresAt: Number(installer[2]) });
    const url = await basalt.listen();
    process.send?.({ basalt: "ready", url });
  } catch (err) {
    await basalt?.close().catch(() => undefined);
    fail(err);
  }
  const running = basalt!;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    running.close().then(
      () => process.exit(0),
      (err) => {
        console.error(`Error while shutting down: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  // a terminal's Ctrl-C reaches the whole process group: the primary coordinates, this drains alike
  process.on("SIGINT", stop);
  // the primary handles SIGHUP (a rolling restart); a worker that also gets it (a closed terminal) ignores it
  process.on("SIGHUP", () => undefined);
}
