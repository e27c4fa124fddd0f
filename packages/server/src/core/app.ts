import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { ApiKeysService, AuthService, InstallerService, RateLimiter } from "../auth/index.js";
import {
  type Database,
  observeDatabase,
  openAuxiliaryDatabase,
  openDatabase,
  statementKind,
} from "../db/index.js";
import { ApiError, forbidden } from "../errors/index.js";
import {
  collectionFilesPrefix,
  FilesService,
  LocalStorage,
  S3Storage,
  type Storage,
} from "../files/index.js";
import { createGraphqlService, DEFAULT_GRAPHQL_LIMITS, type GraphqlService } from "../graphql/index.js";
import { CronService, JobsService } from "../jobs/index.js";
import { MailService, type SmtpConfig } from "../mail/index.js";
import {
  AppLogger,
  createLogSink,
  createMetrics,
  createTracing,
  LogsService,
  LogsStore,
  type Metrics,
  type Tracing,
  tracingEnabled,
} from "../observability/index.js";
import { RealtimeBroker } from "../realtime/index.js";
import { clearRulesCache, observeRuleCompiles, rulesCacheStats } from "../rules/index.js";
import { NO_TRACER, type SpanTracer } from "../util/index.js";
import { WebhooksService } from "../webhooks/index.js";
import {
  BackupsService,
  discardStaged,
  finishRestore,
  importStagedDump,
  readStaged,
  swapInSqlite,
  swapInStorage,
  undoSqlite,
} from "./backups/index.js";
import { type CollectionsPage, queryCollections } from "./collections/collections-query.js";
import {
  type AuthCollection,
  type Collection,
  CollectionsService,
  initialCollections,
} from "./collections/index.js";
import { checkRule } from "./collections/rule-checker.js";
import type { BasaltConfig } from "./config.js";
import { type AppHooks, createHooks, EventBus } from "./events.js";
import { openSharedServices, type SharedServices, syncInstances } from "./instance-sync.js";
import {
  planDeletedFiles,
  type RecordRequest,
  type RecordRow,
  RecordsClient,
  RecordsService,
  truncateCollection,
} from "./records/index.js";
import { findRowWithRule } from "./records/records-query.js";
import { checkEncryptionKey, SecretBox, sealStoredSecrets } from "./secrets/index.js";
import { defaultSettings, SettingsService } from "./settings/index.js";

/** The composed application: configuration, logger, database and the services every route uses. */
export interface App {
  readonly config: BasaltConfig;
  readonly log: Logger;
  readonly db: Database;
  readonly collections: CollectionsService;
  readonly auth: AuthService;
  /** API keys acting as auth records, with scopes and expiry (`/api/keys`, issue 18). */
  readonly apiKeys: ApiKeysService;
  /** Record CRUD with every access rule enforced (REST, batch, realtime and hooks go through it). */
  readonly records: RecordsService;
  /** Committed record events (emitted after the transaction commits). */
  readonly events: EventBus;
  /** The hooks with PocketBase's names (issue 13): bind handlers to run around the app's actions. */
  readonly hooks: AppHooks;
  /** Records from code, as the system (`.as(auth)` for a caller), with the same validation and hooks. */
  readonly recordsClient: RecordsClient;
  /** Record files in the configured storage (the data folder's `storage/`, or S3). */
  readonly files: FilesService;
  /** The application settings (`/api/settings`). */
  readonly settings: SettingsService;
  /** This instance's realtime (SSE) clients, fed by the realtime bus. */
  readonly realtime: RealtimeBroker;
  /**
   * The GraphQL API generated from the collections (`/api/graphql`), over the same records service; made
   * (and graphql-js loaded) on the first call, so an instance that serves no GraphQL does not pay for it.
   */
  graphql(): Promise<GraphqlService>;
  /** One page of the collections list, filtered and sorted with PocketBase's filter syntax. */
  listCollections(opts: {
    filter: string;
    sort: string;
    page: number;
    perPage: number;
    skipTotal: boolean;
  }): Promise<CollectionsPage>;
  /** The application's e-mail, sent off the request path (SMTP from the settings, else the log). */
  readonly mail: MailService;
  /** Rate limits of the auth routes (per client IP and per identity). */
  readonly limiter: RateLimiter;
  /** Request and application logs in the auxiliary store (`/api/logs`), written in batches. */
  readonly logs: LogsService;
  /** The application logger for hooks and routes: entries go to `/api/logs` and to the process log. */
  readonly logger: AppLogger;
  /** Prometheus metrics, when `metrics` is on (`/api/metrics`). */
  readonly metrics: Metrics | null;
  /** OpenTelemetry tracing, when the `OTEL_*` variables (or `tracing: "on"`) turn it on. */
  readonly tracing: Tracing | null;
  /** Runs work in a child span of the current one (a no-op when tracing is off); for hooks and services. */
  readonly tracer: SpanTracer;
  /** The durable job queue in this database: `enqueue` anywhere, `handle` to run a queue here. */
  readonly jobs: JobsService;
  /** Cron jobs (UTC), each tick run once across every instance sharing the database. */
  readonly cron: CronService;
  /** Outbound webhooks on record events, signed per Standard Webhooks and delivered through the job queue. */
  readonly webhooks: WebhooksService;
  /** Backups (`/api/backups`): made on request or by `backups.cron`, stored locally or in S3, restored. */
  readonly backups: BackupsService;
  /** The one-time link that creates the first superuser from the dashboard (issued by `basalt serve`). */
  readonly installer: InstallerService;
  /**
   * Whether a stored record matches a rule for a request (PocketBase's CanAccessRecord): `null` only for a
   * superuser request, `""` always, an expression when it selects the record.
   */
  recordMatchesRule(
    collection: Collection,
    record: RecordRow,
    rule: string | null,
    req: RecordRequest,
  ): Promise<boolean>;
  /**
   * Checks an auth collection's `authRule` for a record about to receive a token, evaluated for the request
   * (a guest when omitted); throws 403 when it does not match.
   */
  checkAuthRule(collection: AuthCollection, record: RecordRow, req?: RecordRequest): Promise<void>;
  /** Deletes every record of a collection, with relation cascades, all or nothing; then their files. */
  truncateCollection(collection: Collection): Promise<void>;
  /**
   * The state of each backing service, for superusers' health checks: the database, Redis (when configured),
   * the file storage and the job queue. Each check is bounded in time.
   */
  health(): Promise<HealthReport>;
  /** Closes the database; the HTTP server is closed by its owner first. */
  close(): Promise<void>;
}

/** One backing service's state: `ok`, how long the check took, and why it failed. */
export interface ComponentHealth {
  ok: boolean;
  latencyMs: number;
  error?: string;
  [detail: string]: unknown;
}

/** What `app.health()` reports. */
export interface HealthReport {
  database: ComponentHealth;
  redis?: ComponentHealth;
  storage: ComponentHealth;
  queue: ComponentHealth;
}

const HEALTH_CHECK_MS = 2000;

async function checkComponent(
  detail: Record<string, unknown>,
  check: () => Promise<Record<string, unknown> | undefined>,
): Promise<ComponentHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const more = await Promise.race([
      check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${HEALTH_CHECK_MS} ms`)),
          HEALTH_CHECK_MS,
        );
      }),
    ]);
    return { ok: true, latencyMs: Math.round(performance.now() - started), ...detail, ...more };
  } catch (err) {
    return {
      ok: false,
      latencyMs: Math.round(performance.now() - started),
      ...detail,
      error: err instanceof Error ? err.message : String(err),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** The version Basalt reports (traces' `service.version`). */
export const BASALT_VERSION = "0.1.0";

/** Opens the data folder's database, creates the system tables on first use and composes the services. */
export async function openApp(given: BasaltConfig, log: Logger): Promise<App> {
  // the key goes into the box only: hooks and routes see `app.config` without it
  const secrets = new SecretBox({ envName: given.encryptionEnv, key: given.encryptionKey });
  const config: BasaltConfig = { ...given, encryptionKey: "" };
  mkdirSync(config.dataDir, { recursive: true });
  // a backup restore staged before the restart is applied now, before anything reads the data
  let restoring = readStaged(config.dataDir, log);
  if (restoring && restoring.store !== (config.dbUrl ? "postgres" : "sqlite")) {
    log.error({ store: restoring.store }, "a staged backup restore is for another store; discarded");
    discardStaged(config.dataDir);
    restoring = null;
  }
  if (restoring?.store === "sqlite") swapInSqlite(config.dataDir);
  const open = () =>
    openDatabase({
      url: config.dbUrl,
      sqliteFile: join(config.dataDir, "data.db"),
      sqliteSynchronous: config.sqliteSynchronous,
      sqliteOffloadAfterMs: config.sqliteOffloadAfterMs,
      sqliteReadThreads: config.sqliteReadThreads === "auto" ? undefined : config.sqliteReadThreads,
      maxConnections: config.dbMaxConnections,
      statementTimeoutMs: config.dbStatementTimeoutMs,
      onIdleError: (err) => log.warn({ err }, "database connection lost"),
    });
  let rawDb: Database;
  try {
    rawDb = await open();
  } catch (err) {
    if (restoring?.store !== "sqlite") throw err;
    log.error({ err }, "the restored database did not open; the previous data is back");
    undoSqlite(config.dataDir);
    discardStaged(config.dataDir);
    restoring = null;
    rawDb = await open();
  }
  if (restoring?.store === "postgres") {
    try {
      await importStagedDump(rawDb, config.dataDir);
    } catch (err) {
      log.error({ err }, "the backup restore failed and was rolled back; the previous data is kept");
      discardStaged(config.dataDir);
      restoring = null;
    }
  }
  if (restoring) {
    swapInStorage(config.dataDir, restoring);
    finishRestore(config.dataDir);
    log.warn({ created: restoring.created }, "a backup was restored");
  }
  const tracing =
    config.tracing === "on" || (config.tracing === "auto" && tracingEnabled(process.env))
      ? await createTracing(BASALT_VERSION)
      : null;
  let metrics: Metrics | null = null;
  // statements are timed (metrics) and traced (a child span of the request or job running them) only when
  // one of the two is on; otherwise the database is used as opened
  const db =
    tracing || config.metrics
      ? observeDatabase(rawDb, (sql) => {
          const kind = statementKind(sql);
          const span = tracing?.startChild(kind.toUpperCase(), {
            "db.system.name": rawDb.dialect.name,
            "db.operation.name": kind.toUpperCase(),
            "db.query.text": sql.length > 2000 ? sql.slice(0, 2000) : sql,
          });
          if (!metrics && !span) return undefined;
          const started = performance.now();
          return (err) => {
            metrics?.queryFinished(sql, (performance.now() - started) / 1000);
            if (!span) return;
            if (err) tracing?.fail(span, err);
            span.end();
          };
        })
      : rawDb;
  const stopCompileSpans = tracing
    ? observeRuleCompiles((collection) => {
        const span = tracing.startChild("rules compile", { "basalt.collection": collection });
        if (!span) return undefined;
        return (err) => {
          if (err) tracing.fail(span, err);
          span.end();
        };
      })
    : () => undefined;
  let shared: SharedServices | undefined;
  let stopJobs: (() => Promise<void>) | undefined;
  let aux: { db: Database; owned: boolean } | undefined;
  let logs: LogsService | undefined;
  try {
    // a missing or wrong key is refused before anything encrypted is loaded
    await checkEncryptionKey(db, secrets);
    const collections = new CollectionsService(db, { checkRule, secrets });
    await collections.init(initialCollections);
    // Compiled rules embed the schema: drop them whenever a collection changes.
    collections.onChange(() => clearRulesCache());
    const auth = new AuthService(db, collections);
    const apiKeys = new ApiKeysService(db, collections, log);
    await apiKeys.init();
    auth.apiKeys = apiKeys;
    const events = new EventBus((err, event) => log.error({ err, event }, "event listener failed"));
    const files = new FilesService(new LocalStorage(join(config.dataDir, "storage")), log);
    const hooks = createHooks();
    collections.useHooks(hooks);
    const records = new RecordsService({
      db,
      collections,
      events,
      files,
      limits: {
        expandMaxRecords: config.expandMaxRecords,
        filterMaxFanout: config.filterMaxFanout,
        filterMaxJoins: config.filterMaxJoins,
        queryTimeoutMs: config.queryTimeoutMs,
      },
      hooks,
      onHookError: (err, hook) => log.error({ err, hook }, "hook failed after the commit"),
      txClient: (rs) => new RecordsClient(collections, rs),
    });
    // a deleted collection's files go once the deletion has committed (only the instance that made it acts)
    collections.onChange(async ({ before, after }) => {
      if (before && !after && before.type !== "view")
        await files.discard([], [collectionFilesPrefix(before.id)]);
    });
    const recordsClient = new RecordsClient(collections, records);
    const settings = new SettingsService(db, defaultSettings(config.appName, config.appUrl), secrets);
    await settings.init();
    const auxFile = join(config.dataDir, "auxiliary.db");
    aux = openAuxiliaryDatabase(config.dbUrl, auxFile, db);
    const logsStore = new LogsStore(aux.db);
    await logsStore.init();
    logs = new LogsService(
      logsStore,
      () => settings.logs,
      log,
      {},
      createLogSink(logsStore, aux.owned ? auxFile : null, log),
    );
    const logger = new AppLogger(logs, log);
    // record files live in S3 when the settings say so (on every instance: each applies the change it hears of)
    const storageFor = (s3: ReturnType<SettingsService["get"]>["s3"]): Storage =>
      s3.enabled ? new S3Storage(s3) : new LocalStorage(join(config.dataDir, "storage"));
    let s3Applied = JSON.stringify(settings.get().s3);
    if (settings.get().s3.enabled) await files.use(storageFor(settings.get().s3));
    settings.onApplied(async () => {
      const s3 = settings.get().s3;
      if (JSON.stringify(s3) === s3Applied) return;
      s3Applied = JSON.stringify(s3);
      await files.use(storageFor(s3));
    });
    const jobs = new JobsService(db, log, {
      ...(tracing ? { tracer: tracing } : {}),
      pollMs: config.jobsPollMs,
      leaseMs: config.jobsLeaseMs,
      retentionMs: config.jobsRetentionMs,
    });
    await jobs.init();
    const cron = new CronService(jobs, log);
    const backups = new BackupsService({
      db,
      dataDir: config.dataDir,
      settings,
      cron,
      log,
      version: BASALT_VERSION,
      filesInS3: () => settings.get().s3.enabled,
    });
    backups.start();
    stopJobs = async () => {
      cron.stop();
      await jobs.stop(config.shutdownTimeoutMs);
    };
    shared = await openSharedServices(config, log);
    const { bus } = shared;
    // before the broker subscribes: it waits for the reloads other instances' changes trigger
    const { ready } = syncInstances({ bus, collections, settings, log });
    const realtime = new RealtimeBroker(
      {
        collections,
        records,
        bus,
        log,
        ready,
        messageHook: hooks.onRealtimeMessageSend,
        enrichHook: hooks.onRecordEnrich,
      },
      {
        idleTimeoutMs: config.realtimeIdleTimeoutMs,
        maxBufferBytes: config.realtimeMaxBufferBytes,
        maxBufferBytesTotal: config.realtimeMaxBufferBytesTotal,
        maxClients: config.realtimeMaxClients,
        maxClientsPerIp: config.realtimeMaxClientsPerIp,
        maxSubscriptionBytesPerClient: config.realtimeMaxSubscriptionBytes,
        maxSubscriptionBytesPerIp: config.realtimeMaxSubscriptionBytesPerIp,
        maxSubscriptionBytesTotal: config.realtimeMaxSubscriptionBytesTotal,
        maxOptionsPerCollection: config.realtimeMaxOptionsPerCollection,
        maxChecksPerEvent: config.realtimeMaxChecksPerEvent,
      },
    );
    // Every committed record change, whatever wrote it, goes to the subscribers of every instance.
    events.on("record", (e) => {
      void bus.publish({
        kind: "record",
        action: e.action,
        collectionId: e.collection.id,
        record: e.record,
        ...(e.before ? { before: e.before } : {}),
      });
    });
    const mail = new MailService(
      () => {
        const s = settings.get() as ReturnType<SettingsService["get"]> & { smtp?: SmtpConfig };
        return { ...s.meta, smtp: s.smtp ?? null };
      },
      log,
      jobs,
      tracing ?? NO_TRACER,
      hooks.onMailerSend,
    );
    mail.start();
    const webhooks = new WebhooksService({
      db,
      log,
      jobs,
      collections,
      records,
      events,
      allowedTargets: config.webhookAllowedTargets,
      timeoutMs: config.webhookTimeoutMs,
      ...(tracing ? { tracer: tracing } : {}),
      authHook: hooks.onRecordAuthRequest,
      secrets,
    });
    await webhooks.init();
    // issue 18: secrets stored before the key was set (or brought by an import) are sealed now, once
    const sealed = await db.lockedTransaction("secrets-at-rest", async (tx) => ({
      ...(await sealStoredSecrets(tx, secrets)),
      webhooks: await webhooks.sealStoredSecrets(tx),
    }));
    if (sealed.settings || sealed.collections || sealed.webhooks)
      log.info(sealed, "stored secrets encrypted with the key from %s", secrets.envHint);
    if (config.metrics) {
      const logsService = logs;
      metrics = await createMetrics({
        realtime: () => ({
          clients: realtime.size,
          subscriptions: realtime.subscriptionCount,
          dropped: realtime.droppedClients,
        }),
        jobs: () => jobs.stats(),
        webhooks: () => webhooks.outcomes,
        logs: () => ({
          buffered: logsService.buffered,
          dropped: logsService.dropped,
          written: logsService.written,
        }),
        rulesCache: rulesCacheStats,
      });
    }
    let graphql: Promise<GraphqlService> | undefined;
    const recordMatchesRule: App["recordMatchesRule"] = async (collection, record, rule, req) => {
      if (req.auth?.isSuperuser || rule === "") return true;
      if (rule === null) return false;
      try {
        return (
          (await findRowWithRule(records.queryContext(req), collection, String(record.id), rule)) !==
          undefined
        );
      } catch (err) {
        if (err instanceof ApiError) return false;
        throw err;
      }
    };
    return {
      config,
      log,
      db,
      mail,
      limiter: new RateLimiter(shared.rateLimits),
      jobs,
      cron,
      webhooks,
      backups,
      installer: new InstallerService(),
      logs,
      logger,
      metrics,
      tracing,
      tracer: tracing ?? NO_TRACER,
      recordMatchesRule,
      collections,
      auth,
      apiKeys,
      records,
      events,
      hooks,
      recordsClient,
      files,
      settings,
      realtime,
      graphql: () => {
        if (graphql) return graphql;
        graphql = createGraphqlService(
          collections,
          {
            ...DEFAULT_GRAPHQL_LIMITS,
            introspection: config.graphqlIntrospection,
            maxDepth: config.graphqlMaxDepth,
            maxCost: config.graphqlMaxCost,
            maxAliases: config.graphqlMaxAliases,
            maxPerPage: Math.min(config.graphqlMaxPerPage, 1000),
          },
          log,
        );
        // a failed load is not kept: the next request tries again
        graphql.catch(() => {
          graphql = undefined;
        });
        return graphql;
      },
      listCollections: (opts) => queryCollections(db, (id) => collections.find(id), opts),
      checkAuthRule: async (collection, record, req = { auth: null }) => {
        if (collection.name === "_superusers") return;
        const rule = collection.authRule === undefined ? "" : collection.authRule;
        if (await recordMatchesRule(collection, record, rule, req)) return;
        throw forbidden("The request doesn't satisfy the collection requirements to authenticate.");
      },
      truncateCollection: async (c) => {
        // with delete hooks bound, record by record through them (as PocketBase always does)
        if (await records.truncateHooked(c)) {
          await files.discard([], [collectionFilesPrefix(c.id)]);
          return;
        }
        const cascaded: { collection: Collection; id: string }[] = [];
        await truncateCollection(db, collections.list(), c, (dep, row) =>
          cascaded.push({ collection: dep, id: String(row.id) }),
        );
        // after the commit only: the collection's folder, and the folders of records cascaded elsewhere
        const others = planDeletedFiles(cascaded)?.deletePrefixes ?? [];
        await files.discard([], [collectionFilesPrefix(c.id), ...others]);
      },
      health: async () => {
        const redis = shared?.pingRedis;
        const [database, redisState, storage, queue] = await Promise.all([
          checkComponent({ type: db.dialect.name }, async () => {
            await db.ping();
            return undefined;
          }),
          redis
            ? checkComponent({}, async () => {
                await redis();
                return undefined;
              })
            : undefined,
          checkComponent({ type: settings.get().s3.enabled ? "s3" : "local" }, async () => {
            await files.storage.exists("basalt-health-check");
            return undefined;
          }),
          checkComponent({}, async () => {
            const s = await jobs.stats();
            return { queues: s.queues, processed: s.processed };
          }),
        ]);
        return { database, ...(redisState ? { redis: redisState } : {}), storage, queue };
      },
      close: async () => {
        realtime.closeAll();
        // running jobs finish (or go back to the queue) while the database is still open
        await stopJobs?.();
        await mail.close();
        await files.close();
        await shared?.close();
        await logs?.close();
        if (aux?.owned) await aux.db.close();
        stopCompileSpans();
        await tracing?.shutdown().catch((err: unknown) => log.warn({ err }, "traces could not be exported"));
        await db.close();
      },
    };
  } catch (err) {
    await stopJobs?.();
    await shared?.close();
    if (aux?.owned) await aux.db.close();
    stopCompileSpans();
    await tracing?.shutdown().catch(() => undefined);
    await db.close();
    throw err;
  }
}
