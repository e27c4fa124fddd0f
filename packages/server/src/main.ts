import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { type Logger, pino } from "pino";
import pretty from "pino-pretty";
import { type App, openApp } from "./core/app.js";
import { type BasaltConfig, DEFAULT_CONFIG, parseListenAddress } from "./core/config.js";
import { BasaltError } from "./errors/index.js";
import { buildServer } from "./http/server.js";

export type { App } from "./core/app.js";
export { type BasaltConfig, DEFAULT_CONFIG } from "./core/config.js";
export type { EnqueueOptions, HandleOptions, JobContext, JobHandler } from "./jobs/index.js";
export {
  type InboundWebhook,
  standardWebhookHeaders,
  verifyInbound,
  verifyStandardWebhook,
  verifyStripeSignature,
  WebhookVerificationError,
} from "./webhooks/index.js";

/** A composed Basalt: the app's services and its HTTP server, not yet listening. */
export interface Basalt {
  readonly app: App;
  readonly server: FastifyInstance;
  /** Starts listening on `config.http`; resolves with the bound address (`http://host:port`). */
  listen(): Promise<string>;
  /** Stops accepting, lets in-flight requests finish (up to `shutdownTimeoutMs`), then closes the database. */
  close(): Promise<void>;
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

/**
 * Opens the data folder and composes the server. Importing this module has no side effects; nothing
 * listens until `listen()` is called.
 */
export async function createApp(config: Partial<BasaltConfig> = {}, logger?: Logger): Promise<Basalt> {
  const full: BasaltConfig = { ...DEFAULT_CONFIG, ...config };
  const log = logger ?? createLogger(full.logLevel, full.logFormat);
  const app = await openApp(full, log);
  let server: FastifyInstance;
  try {
    server = await buildServer(app);
  } catch (err) {
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
  return {
    app,
    server,
    async listen() {
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
      const host = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
      return `http://${host}:${bound.port}`;
    },
    close() {
      closing ??= (async () => {
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
    },
  };
}
