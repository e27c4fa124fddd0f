import type { Logger } from "pino";
import { type AuthFlowsApi, authFlowsApi } from "../auth/flows/index.js";
import type { App } from "../core/app.js";
import type { Collection } from "../core/collections/index.js";
import type { BasaltConfig } from "../core/config.js";
import { type AppHooks, HOOK_NAMES, type HookName } from "../core/events.js";
import type { BindOptions, HookHandler } from "../core/hook.js";
import type { RecordsClient } from "../core/records/index.js";
import { ApiError, badRequest, fieldError, forbidden, notFound, unauthorized } from "../errors/index.js";
import type { CronHandler, EnqueueOptions, HandleOptions, JobHandler } from "../jobs/index.js";
import type { OutgoingMail } from "../mail/index.js";
import {
  type InboundWebhook,
  type VerifyOptions,
  verifyInbound,
  WebhookVerificationError,
} from "../webhooks/index.js";
import { guardHandler, guardRoute } from "./hook-errors.js";
import {
  bodyLimit,
  HookRouter,
  type RouteHandler,
  type RouteMethod,
  type RouteMiddleware,
  rateLimit,
  requireAuth,
  requireGuestOnly,
  requireSuperuserAuth,
} from "./router.js";

type EventOf<K extends HookName> = AppHooks[K] extends { bind(h: HookHandler<infer E>): string } ? E : never;

/** One binder per hook: `app.onRecordCreate((e) => …, { collections: ["posts"] })` returns the binding id. */
export type HookBinders = {
  readonly [K in HookName]: (handler: HookHandler<EventOf<K>>, opts?: BindOptions) => string;
};

/** Adds custom routes: `router.get(path, handler, ...middlewares)`. */
export type RouterApi = {
  readonly [M in "get" | "post" | "put" | "patch" | "delete" | "head" | "options"]: (
    path: string,
    handler: RouteHandler,
    ...middlewares: RouteMiddleware[]
  ) => void;
};

/**
 * What a hook file's default export (or `onLoad`) receives, and what the library's `createApp` returns:
 * hooks by PocketBase's names, custom routes, records, transactions, e-mail, jobs, cron, collections.
 */
export interface HookApi extends HookBinders {
  /** The hooks themselves (`bind`, `unbind`, `trigger`). */
  readonly hooks: AppHooks;
  /** Custom routes (built-in routes win over them). */
  readonly router: RouterApi;
  /** Records as the system (`.as(auth)` for a caller's rules), with the same validation and hooks as REST. */
  readonly records: RecordsClient;
  /**
   * The auth flows as services — password, OTP and OAuth2 sign-in, verification, password reset, e-mail
   * change, impersonation — with the same checks, e-mails, MFA and hooks as the REST routes.
   */
  readonly auth: AuthFlowsApi;
  /** Runs several record writes in one transaction (a throw rolls them all back). */
  runInTransaction<T>(fn: (tx: RecordsClient) => Promise<T>): Promise<T>;
  /** Sends e-mail with the configured mailer (queued, retried; through `onMailerSend`). */
  readonly mail: { send(mail: OutgoingMail): void };
  /** The durable job queue: `enqueue` anywhere, `handle` to run a queue's jobs in this process. */
  readonly jobs: {
    enqueue(
      queue: string,
      payload: unknown,
      options?: EnqueueOptions,
    ): Promise<{ id: string; created: boolean }>;
    handle<P = unknown>(queue: string, handler: JobHandler<P>, options?: HandleOptions): void;
  };
  /**
   * Signed inbound webhooks (Standard Webhooks or Stripe's `Stripe-Signature`): `verify` checks the signature
   * and timestamp of a custom route's `rawBody` and refuses a replay; inside `runInTransaction` the message
   * counts as received only if the transaction commits. Throws a 400 ApiError when the message is refused.
   */
  readonly webhooks: {
    verify(message: InboundWebhook, options?: VerifyOptions): Promise<{ id: string; body: unknown }>;
  };
  /** Cron jobs (UTC), each tick run once across every instance. */
  readonly cron: {
    add(id: string, expression: string, handler: CronHandler): void;
    remove(id: string): void;
  };
  /** The collections: read them, or create, update and delete them in code (collection hooks fire). */
  readonly collections: {
    find(nameOrId: string): Collection | undefined;
    list(): Collection[];
    create(input: Record<string, unknown>): Promise<Collection>;
    update(nameOrId: string, input: Record<string, unknown>): Promise<Collection>;
    delete(nameOrId: string): Promise<void>;
  };
  readonly config: Readonly<BasaltConfig>;
  /** The process log (pino). */
  readonly log: Logger;
  /** Application logs: levelled entries kept in the request-log store (`/api/logs`) and the process log. */
  readonly logger: App["logger"];
  /** Child spans of the current request's or job's trace (`tracer.span(name, attributes, fn)`); no-ops when tracing is off. */
  readonly tracer: App["tracer"];
  /** PocketBase-shaped errors: throw one from a hook or route to answer with its status and data. */
  readonly errors: {
    ApiError: typeof ApiError;
    badRequest: typeof badRequest;
    unauthorized: typeof unauthorized;
    forbidden: typeof forbidden;
    notFound: typeof notFound;
    fieldError: typeof fieldError;
  };
  /** The built-in route middlewares. */
  readonly middlewares: {
    requireAuth: typeof requireAuth;
    requireSuperuserAuth: typeof requireSuperuserAuth;
    requireGuestOnly: typeof requireGuestOnly;
    bodyLimit: typeof bodyLimit;
    rateLimit: typeof rateLimit;
  };
}

/**
 * Everything one set of hook code registered (one load of the hook files, or the embedding program), so a
 * `--dev` reload can remove it: hook bindings, routes, job queues and cron jobs.
 */
export class HookScope {
  readonly router = new HookRouter();
  readonly api: HookApi;
  private readonly bindings: [HookName, string][] = [];
  readonly queues = new Map<string, () => Promise<void>>();
  readonly crons = new Set<string>();

  constructor(
    private readonly app: App,
    /** The folder whose files are this scope's code (stack frames there are named in error logs). */
    hooksDir: string | null,
  ) {
    const log = app.log.child({ hooks: hooksDir ? "files" : "code" });
    const binders = {} as Record<HookName, (h: HookHandler<object>, o?: BindOptions) => string>;
    for (const name of HOOK_NAMES) {
      binders[name] = (handler, opts) => {
        const hook = app.hooks[name] as unknown as { bind(h: HookHandler<object>, o?: BindOptions): string };
        const guarded = guardHandler(name, handler, log, hooksDir);
        const tracing = app.tracing;
        // one span per handler run, nested as the handlers chain through e.next()
        const bound: HookHandler<object> = tracing
          ? (e) => tracing.span(`hook ${name}`, { "basalt.hook": name }, () => guarded(e))
          : guarded;
        const id = hook.bind(bound, opts);
        this.bindings.push([name, id]);
        return id;
      };
    }
    const route =
      (method: RouteMethod) =>
      (path: string, handler: RouteHandler, ...middlewares: RouteMiddleware[]) =>
        this.router.add(method, path, guardRoute(`${method} ${path}`, handler, log, hooksDir), middlewares);
    this.api = {
      ...(binders as unknown as HookBinders),
      hooks: app.hooks,
      router: {
        get: route("GET"),
        post: route("POST"),
        put: route("PUT"),
        patch: route("PATCH"),
        delete: route("DELETE"),
        head: route("HEAD"),
        options: route("OPTIONS"),
      },
      records: app.recordsClient,
      auth: authFlowsApi(app),
      runInTransaction: (fn) => app.recordsClient.runInTransaction(fn),
      mail: { send: (mail) => app.mail.sendMessage(mail) },
      jobs: {
        enqueue: (queue, payload, options) => app.jobs.enqueue(queue, payload, options),
        handle: (queue, handler, options) => {
          this.queues.set(queue, app.jobs.handle(queue, handler, options));
        },
      },
      webhooks: {
        verify: async (message, options) => {
          try {
            return await verifyInbound(app.db, message, options);
          } catch (err) {
            if (err instanceof WebhookVerificationError) throw badRequest(err.message);
            throw err;
          }
        },
      },
      cron: {
        add: (id, expression, handler) => {
          app.cron.add(id, expression, handler);
          this.crons.add(id);
        },
        remove: (id) => {
          app.cron.remove(id);
          this.crons.delete(id);
        },
      },
      collections: {
        find: (n) => app.collections.find(n),
        list: () => app.collections.list(),
        create: (input) => app.collections.create(input),
        update: (n, input) => app.collections.update(n, input),
        delete: (n) => app.collections.delete(n),
      },
      config: app.config,
      log,
      logger: app.logger,
      tracer: app.tracer,
      errors: { ApiError, badRequest, unauthorized, forbidden, notFound, fieldError },
      middlewares: { requireAuth, requireSuperuserAuth, requireGuestOnly, bodyLimit, rateLimit },
    };
  }

  /** Removes this scope's hook bindings (routes go with the router when it is replaced). */
  unbindHooks(): void {
    for (const [name, id] of this.bindings) this.app.hooks[name].unbind(id);
    this.bindings.length = 0;
  }

  /** Stops the job queues and cron jobs this scope registered that `next` does not register again. */
  async releaseJobs(next?: HookScope): Promise<void> {
    for (const id of this.crons) if (!next?.crons.has(id)) this.app.cron.remove(id);
    const stops: Promise<void>[] = [];
    for (const [queue, stop] of this.queues) if (!next?.queues.has(queue)) stops.push(stop());
    await Promise.all(stops);
  }
}
