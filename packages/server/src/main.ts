import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import { type Logger, pino } from "pino";
import pretty from "pino-pretty";
import { type App, openApp } from "./core/app.js";
import { type BasaltConfig, DEFAULT_CONFIG, parseListenAddress } from "./core/config.js";
import { BasaltError } from "./errors/index.js";
import { HookCompileError } from "./hooks/compile-hooks.js";
import type { HookApi } from "./hooks/hook-api.js";
import { HookHost, hooksDirFor } from "./hooks/hook-host.js";
import { keepTypesWritten } from "./hooks/types-file.js";
import { buildServer } from "./http/server.js";
import { automigrate, Migrator, migrationsDirFor } from "./migrations/index.js";

export type { AuthFlowsApi, AuthResult, MfaRequired, SignInOptions } from "./auth/flows/index.js";
export type { App } from "./core/app.js";
export { generateTypes } from "./core/collections/index.js";
export { type BasaltConfig, DEFAULT_CONFIG } from "./core/config.js";
export type {
  AppHooks,
  HookName,
  HookRequestInfo,
  LifecycleEvent,
  MailerEvent,
  MailerRecordEvent,
  RealtimeMessageEvent,
  RecordAuthEvent,
  RecordEnrichEvent,
  RecordErrorEvent,
  RecordModelEvent,
  RequestEvent,
} from "./core/events.js";
export type { BindOptions, Hook, HookEvent, HookHandler } from "./core/hook.js";
export { type ListOptions, RecordsClient, type RecordsList } from "./core/records/index.js";
export { ApiError, badRequest, fieldError, forbidden, notFound, unauthorized } from "./errors/index.js";
export type { HookApi, RouterApi } from "./hooks/hook-api.js";
export {
  bodyLimit,
  type RouteEvent,
  type RouteHandler,
  type RouteMiddleware,
  rateLimit,
  requireAuth,
  requireGuestOnly,
  requireSuperuserAuth,
} from "./hooks/router.js";
export type { EnqueueOptions, HandleOptions, JobContext, JobHandler } from "./jobs/index.js";
export type { OutgoingMail } from "./mail/index.js";
export type { CollectionJSON, MigrationApp, MigrationDb } from "./migrations/index.js";
export {
  type InboundWebhook,
  standardWebhookHeaders,
  verifyInbound,
  verifyStandardWebhook,
  verifyStripeSignature,
  WebhookVerificationError,
} from "./webhooks/index.js";

/**
 * A composed Basalt, not yet listening: the hook API (hooks by PocketBase's names, routes, records, jobs,
 * cron, collections, mail) to register business logic in code, the app's services and its HTTP server.
 */
export interface Basalt extends HookApi {
  readonly app: App;
  readonly server: FastifyInstance;
  /** The hook files loaded from the hooks folder (and reloaded in `--dev`). */
  readonly hookFiles: HookHost;
  /** The migrations folder's files (`migrator`) and those this start applied (`applied`, in order). */
  readonly migrations: { readonly migrator: Migrator; readonly applied: readonly string[] };
  /**
   * Runs `onBootstrap`, starts listening on `config.http`, runs `onServe`; resolves with the bound address
   * (`http://host:port`).
   */
  start(): Promise<string>;
  /** Runs `onTerminate`, stops accepting, lets in-flight requests finish, then closes the database. */
  stop(): Promise<void>;
  /** Same as `start()`. */
  listen(): Promise<string>;
  /** Same as `stop()`. */
  close(): Promise<void>;
  /**
   * Lets a backup restore (`POST /api/backups/{key}/restore`) restart Basalt: once the checked backup is
   * staged in the data folder, this Basalt stops and `handler` is called; it should create and start a new
   * Basalt with the same configuration, which applies the restore as it opens the data folder. Without a
   * handler, restores are refused. `basalt serve` registers one.
   */
  onRestart(handler: () => void | Promise<void>): void;
}

/** The redaction list applied to every log line: credentials never reach the logs. */
export const LOG_REDACT = [
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "password",
  "passwordConfirm",
  "oldPassword",
  "token",
  "*.password",
  "*.token",
  "*.tokenKey",
];

/**
 * Creates the root pino logger: JSON lines on stdout, or (`pretty`) coloured one-line entries for a
 * terminal, formatted in this process by pino-pretty.
 */
export function createLogger(
  level: BasaltConfig["logLevel"],
  format: BasaltConfig["logFormat"] = "json",
): Logger {
  const options = { level, redact: { paths: LOG_REDACT, censor: "[redacted]" } };
  if (format !== "pretty") return pino(options);
  return pino(
    options,
    pretty({
      colorize: Boolean(process.stdout.isTTY),
      translateTime: "SYS:HH:MM:ss.l",
      ignore: "pid,hostname",
      singleLine: true,
      sync: true,
    }),
  );
}

/** Loads the hook files; outside `--dev` a failure refuses the start, in `--dev` it is printed and waited out. */
async function loadHookFiles(host: HookHost, dev: boolean, log: Logger): Promise<void> {
  try {
    await host.load();
  } catch (err) {
    if (dev) {
      const lines = err instanceof HookCompileError ? err.problems : [String(err)];
      for (const line of lines) process.stderr.write(`hook compile error: ${line}\n`);
      log.error({ err }, "hook files failed to load; waiting for a fix (--dev)");
      return;
    }
    if (err instanceof HookCompileError) {
      throw new BasaltError("BASALT_ERR_HOOKS_COMPILE", `\n${err.problems.join("\n")}`, err);
    }
    throw new BasaltError("BASALT_ERR_HOOKS_LOAD", err instanceof Error ? err.message : String(err), err);
  }
}

/**
 * Opens the data folder, loads the hook files and composes the server. Importing this module has no side
 * effects; nothing listens until `start()` is called. Register hooks, routes, jobs and cron on the returned
 * object before starting it.
 * @example
 * const basalt = await createApp({ dataDir: "./data", http: "127.0.0.1:8090" });
 * basalt.onRecordCreate((e) => { e.record.slug = String(e.record.title).toLowerCase(); return e.next(); }, { collections: ["posts"] });
 * basalt.router.get("/api/hello/:name", (e) => ({ hello: e.params.name }));
 * await basalt.start();
 */
export async function createApp(config: Partial<BasaltConfig> = {}, logger?: Logger): Promise<Basalt> {
  const full: BasaltConfig = { ...DEFAULT_CONFIG, ...config };
  const log = logger ?? createLogger(full.logLevel, full.logFormat);
  const app = await openApp(full, log);
  const host = new HookHost(app, hooksDirFor(full));
  const migrator = new Migrator(app, migrationsDirFor(full));
  let applied: string[] = [];
  let server: FastifyInstance;
  try {
    // pending migrations first, before hook code that may expect their collections (issue 18)
    if (full.migrate) applied = await migrator.up();
    if (full.automigrate ?? full.dev) {
      await migrator.ensureTable();
      automigrate(app, migrator, log);
    }
    await loadHookFiles(host, full.dev, log);
    if (full.dev) host.watch();
    if (full.dev && full.typesOut) keepTypesWritten(app, resolve(full.typesOut));
    server = await buildServer(app, host);
  } catch (err) {
    await host.close();
    await app.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  // While shutting down, answers ask the client to close its connection, so kept-alive sockets do not hold
  // the drain open until the timeout.
  server.addHook("onSend", (_request, reply, payload, done) => {
    if (closing) reply.header("connection", "close");
    done(null, payload);
  });
  // Realtime streams never finish by themselves: end them first so the drain waits only for real requests.
  server.addHook("preClose", async () => {
    app.realtime.closeAll();
  });
  let started: Promise<string> | undefined;
  const start = () => {
    started ??= (async () => {
      await app.hooks.onBootstrap.trigger({});
      const address = await listen();
      await app.hooks.onServe.trigger({ address });
      return address;
    })();
    return started;
  };
  const listen = async () => {
    const addr = parseListenAddress(full.http);
    if (!addr) throw new BasaltError("BASALT_ERR_SERVE_BAD_ADDRESS", `Got "${full.http}".`);
    try {
      await server.listen({ host: addr.host, port: addr.port });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
        throw new BasaltError(
          "BASALT_ERR_SERVE_PORT_IN_USE",
          `${full.http} is taken by another program.`,
          err,
        );
      }
      throw err;
    }
    const bound = server.server.address() as AddressInfo;
    const hostname = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
    return `http://${hostname}:${bound.port}`;
  };
  const stop = () => {
    closing ??= (async () => {
      await app.hooks.onTerminate.trigger({}).catch((err) => log.error({ err }, "onTerminate failed"));
      await host.close();
      const timer = setTimeout(() => server.server.closeAllConnections?.(), full.shutdownTimeoutMs);
      timer.unref();
      try {
        await server.close();
      } finally {
        clearTimeout(timer);
        await app.close();
      }
    })();
    return closing;
  };
  const restartHandlers: (() => void | Promise<void>)[] = [];
  const restart = async () => {
    try {
      await stop();
    } catch (err) {
      log.error({ err }, "stopping for the restart failed");
    }
    for (const handler of restartHandlers) {
      try {
        await handler();
      } catch (err) {
        log.error({ err }, "the restart handler failed");
      }
    }
  };
  const onRestart = (handler: () => void | Promise<void>) => {
    restartHandlers.push(handler);
    // on the next turn: the restore's answer is on its way, and stop() lets it finish before closing
    app.backups.restartWith(() => setImmediate(() => void restart()));
  };
  return {
    ...host.code.api,
    app,
    server,
    hookFiles: host,
    migrations: { migrator, applied },
    start,
    stop,
    listen: start,
    close: stop,
    onRestart,
  };
}
