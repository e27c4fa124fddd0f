import type { Logger } from "pino";
import type { BasaltConfig } from "../core/config.js";
import { type Basalt, createApp, createLogger } from "../main.js";
import { prepareDataDir } from "./data-dir.js";
import { encryptionFrom } from "./encryption.js";
import { fail } from "./fail.js";
import { checkListenAddress, checkPortFree, startupSuperuser } from "./preflight.js";
import { redactDbUrl } from "./transfer-summary.js";

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
}

const list = (value: string) =>
  value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/** `basalt serve`: opens the data folder, serves until SIGTERM/SIGINT, then drains and exits 0. */
export async function runServe(opts: ServeOptions): Promise<void> {
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
    const config: Partial<BasaltConfig> = {
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
    const log = createLogger(opts.logLevel, opts.logFormat);
    process.on("unhandledRejection", (reason) => log.error({ err: reason }, "unhandled promise rejection"));
    basalt = restartable(await createApp(config, log), config, log);
    if (superuser) {
      const result = await basalt.app.auth.upsertSuperuser(superuser.email, superuser.password);
      console.log(`Superuser ${superuser.email.toLowerCase()} ${result} from BASALT_SUPERUSER_EMAIL.`);
    }
    const url = await basalt.listen();
    const store = opts.db ? `PostgreSQL at ${redactDbUrl(opts.db)}` : `the data folder ${dataDir}`;
    // One write, so whoever waits for "Basalt serving" also reads the first-superuser help.
    const lines = [`Basalt serving ${url}/api/ with ${store}`, `Dashboard: ${url}/_/`];
    const { applied } = basalt.migrations;
    if (applied.length)
      lines.unshift(
        `Applied ${applied.length} migration${applied.length === 1 ? "" : "s"}: ${applied.join(", ")}`,
      );
    if ((await basalt.app.auth.countSuperusers()) === 0) {
      // The installer link only works from this machine (see api/installer.ts), so it names loopback.
      const local = url.replace(/^http:\/\/(0\.0\.0\.0|\[::\])(?=:)/, "http://127.0.0.1");
      const token = basalt.app.installer.issue();
      lines.push(
        "No superuser yet. Open this one-time link on this machine within 30 minutes to create the first one:",
        `  ${local}/_/#/install/${token}`,
        `Or create one with: npx basalt superuser upsert EMAIL PASSWORD ${opts.db ? "--db URL" : `--dir ${opts.dir}`}` +
          " (or set BASALT_SUPERUSER_EMAIL and BASALT_SUPERUSER_PASSWORD)",
      );
    }
    console.log(lines.join("\n"));
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
