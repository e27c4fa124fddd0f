/** Everything `basalt serve` can be told, from flags or `BASALT_*` environment variables. */
export interface BasaltConfig {
  /** The data folder (SQLite files, uploads, backups). */
  dataDir: string;
  /** `host:port` to listen on; port 0 picks a free port. */
  http: string;
  /** Allowed CORS origins; `["*"]` allows any. */
  origins: string[];
  /** pino log level. */
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** Maximum request body size in bytes. */
  bodyLimit: number;
  /** The most bytes of a backup uploaded to `POST /api/backups/upload`. */
  backupMaxUploadBytes: number;
  /** How long shutdown waits for in-flight requests, in milliseconds. */
  shutdownTimeoutMs: number;
  /** SQLite `synchronous` mode: NORMAL survives a process crash, FULL also a power loss. */
  sqliteSynchronous: "NORMAL" | "FULL";
  /**
   * SQLite: how long a client-driven read runs on the event loop's thread before it is stopped and run again
   * in a reader thread, in ms (issue 10).
   */
  sqliteOffloadAfterMs: number;
  /** SQLite: reader threads for long client-driven reads; `auto` is the cores less one (at least 1), 0 none. */
  sqliteReadThreads: number | "auto";
  /** A `postgres://user@host:port/db` URL to store the data in PostgreSQL; empty keeps SQLite in `dataDir`. */
  dbUrl: string;
  /** Most PostgreSQL connections the pool opens. */
  dbMaxConnections: number;
  /** PostgreSQL statement timeout in milliseconds. */
  dbStatementTimeoutMs: number;
  /** A `redis://host:port` URL: realtime across instances and shared rate limits; empty keeps both in memory. */
  redisUrl: string;
  /** Prefix of every Redis key and channel Basalt uses, so deployments (or test runs) can share one Redis. */
  redisPrefix: string;
  /** How long start-up waits for Redis before serving alone (and reconnecting in the background), in ms. */
  redisConnectTimeoutMs: number;
  /**
   * Set in the worker processes of `basalt serve --workers` (issue 19): without Redis, the rate-limit
   * counters live in the primary process, and on SQLite the realtime bus goes through it.
   */
  clusterWorker: boolean;
  /** Prefix of the LISTEN/NOTIFY channel of the realtime bus on PostgreSQL (used when no Redis is configured). */
  pgChannelPrefix: string;
  /** The application's public URL (used in e-mail links). */
  appUrl: string;
  /** The application's name (used in e-mails). */
  appName: string;
  /** Proxies whose X-Forwarded-For is trusted (IPs or CIDRs). */
  trustedProxies: string[];
  /** A realtime client that receives nothing for this long is disconnected (the SDK reconnects). */
  realtimeIdleTimeoutMs: number;
  /** Unsent realtime bytes a client may have before it is disconnected. */
  realtimeMaxBufferBytes: number;
  /** Unsent realtime bytes of all clients together: each client may hold its share (this / clients). */
  realtimeMaxBufferBytesTotal: number;
  /** SSE streams open at once on this instance (429 above it). */
  realtimeMaxClients: number;
  /** SSE streams open at once from one client address, an IPv6 /64 counting as one (429 above it). */
  realtimeMaxClientsPerIp: number;
  /** Total length of one client's subscription strings (400 above it). */
  realtimeMaxSubscriptionBytes: number;
  /** Total length of the subscription strings of one address's clients (429 above it). */
  realtimeMaxSubscriptionBytesPerIp: number;
  /** Total length of every client's subscription strings (429 above it). */
  realtimeMaxSubscriptionBytesTotal: number;
  /** Distinct subscription options one client may use per collection (400 above it). */
  realtimeMaxOptionsPerCollection: number;
  /** Rule/filter checks one record event may run; the clients asking for the most are disconnected first. */
  realtimeMaxChecksPerEvent: number;
  /** Expanded records one response, realtime event or batch may hold (400 above it). */
  expandMaxRecords: number;
  /** TCP connections one client address may hold open at once (trusted proxies exempt); 0 turns it off. */
  maxConnectionsPerIp: number;
  /** Multi-valued relation hops (back-relations, multiple relations) one client filter/sort path may take. */
  filterMaxFanout: number;
  /** Joined tables one client filter or sort may need. */
  filterMaxJoins: number;
  /** How long one client-driven query (list, view, expand, rule checks) may run, in ms (then a 400). */
  queryTimeoutMs: number;
  /** How often an idle job queue looks for due jobs, in ms (local enqueues wake it at once). */
  jobsPollMs: number;
  /** How long a claimed job stays reserved without its worker's heartbeat before another may take it, in ms. */
  jobsLeaseMs: number;
  /** How long done and cancelled jobs are kept, in ms. */
  jobsRetentionMs: number;
  /**
   * Non-public addresses webhook targets may resolve to: `loopback`, `private` (link-local and metadata
   * addresses never). Empty: public addresses only.
   */
  webhookAllowedTargets: ("loopback" | "private")[];
  /** How long one webhook delivery attempt may take, redirects included, in ms. */
  webhookTimeoutMs: number;
  /**
   * Non-public addresses an OAuth2 provider's avatar URL may resolve to when it is fetched into a file field:
   * `loopback`, `private` (link-local and metadata addresses never). Empty: public addresses only.
   */
  oauth2AvatarAllowedTargets: ("loopback" | "private")[];
  /** Serve Prometheus metrics at `/api/metrics` (and record them). */
  metrics: boolean;
  /** When set, `/api/metrics` needs `Authorization: Bearer <token>` (or a superuser). */
  metricsToken: string;
  /** OpenTelemetry traces: `auto` follows the `OTEL_*` environment variables (off unless an OTLP endpoint or exporter is named). */
  tracing: "auto" | "on" | "off";
  /** The process log's format: one JSON object per line, or coloured lines for a terminal. */
  logFormat: "json" | "pretty";
  /** The folder served at `/` (PocketBase's `pb_public`); when it does not exist `/` shows a short page. */
  publicDir: string;
  /** Whether a missing path (without a file extension) in the public folder gets its `index.html` (SPAs). */
  indexFallback: boolean;
  /** The hook files' folder; empty: `basalt_hooks` beside the data folder. */
  hooksDir: string;
  /**
   * Development mode: hook files are reloaded when they change (a compile error keeps the previous version
   * running instead of refusing to start) and `basalt typegen` output is refreshed on collection changes.
   */
  dev: boolean;
  /** Where `--dev` writes the collections' TypeScript types on each change; empty: not written. */
  typesOut: string;
  /** The migration files' folder; empty: `basalt_migrations` beside the data folder (issue 18). */
  migrationsDir: string;
  /** Whether the start applies the pending migrations before anything else (`--no-migrate` turns it off). */
  migrate: boolean;
  /**
   * Whether each collection change made through the API writes a migration file recording it; null follows
   * `dev` (on in development, off in production).
   */
  automigrate: boolean | null;
  /** Who may introspect the GraphQL schema: `superusers` (default), `all`, or `off`. */
  graphqlIntrospection: "superusers" | "all" | "off";
  /** Deepest field nesting of a GraphQL operation. */
  graphqlMaxDepth: number;
  /** Largest estimated cost of a GraphQL operation (fields times page sizes and relation fan-out). */
  graphqlMaxCost: number;
  /** Most aliases in one GraphQL document. */
  graphqlMaxAliases: number;
  /** Largest page a GraphQL list returns (larger `perPage` values are clamped). */
  graphqlMaxPerPage: number;
  /**
   * The environment variable the encryption key comes from (`--encryption-env`, as PocketBase's
   * `--encryptionEnv`); named in errors and recorded with the encrypted data. Empty: no encryption.
   */
  encryptionEnv: string;
  /**
   * Its value: 32 characters that encrypt the stored secrets (SMTP and S3 passwords, OAuth2 client secrets,
   * webhook secrets) with AES-256-GCM. `openApp` takes it and leaves "" in `app.config`.
   */
  encryptionKey: string;
}

/** The defaults `basalt serve` uses. */
export const DEFAULT_CONFIG: BasaltConfig = {
  dataDir: "./basalt_data",
  http: "127.0.0.1:8090",
  origins: ["*"],
  logLevel: "info",
  bodyLimit: 32 * 1024 * 1024,
  backupMaxUploadBytes: 4 * 1024 ** 3,
  shutdownTimeoutMs: 10_000,
  sqliteSynchronous: "NORMAL",
  sqliteOffloadAfterMs: 15,
  sqliteReadThreads: "auto",
  dbUrl: "",
  dbMaxConnections: 10,
  dbStatementTimeoutMs: 30_000,
  redisUrl: "",
  redisPrefix: "basalt:",
  redisConnectTimeoutMs: 5_000,
  pgChannelPrefix: "basalt:",
  clusterWorker: false,
  appUrl: "http://127.0.0.1:8090",
  appName: "Basalt",
  trustedProxies: [],
  realtimeIdleTimeoutMs: 5 * 60_000,
  realtimeMaxBufferBytes: 1 << 20,
  realtimeMaxBufferBytesTotal: 64 << 20,
  realtimeMaxClients: 5_000,
  realtimeMaxClientsPerIp: 100,
  realtimeMaxSubscriptionBytes: 256 * 1024,
  realtimeMaxSubscriptionBytesPerIp: 4 * 1024 * 1024,
  realtimeMaxSubscriptionBytesTotal: 64 * 1024 * 1024,
  realtimeMaxOptionsPerCollection: 100,
  realtimeMaxChecksPerEvent: 5_000,
  expandMaxRecords: 5_000,
  maxConnectionsPerIp: 1_000,
  filterMaxFanout: 2,
  filterMaxJoins: 12,
  queryTimeoutMs: 3_000,
  jobsPollMs: 1000,
  jobsLeaseMs: 30_000,
  jobsRetentionMs: 24 * 3_600_000,
  webhookAllowedTargets: [],
  webhookTimeoutMs: 10_000,
  oauth2AvatarAllowedTargets: [],
  metrics: false,
  metricsToken: "",
  tracing: "auto",
  logFormat: "json",
  publicDir: "./basalt_public",
  indexFallback: true,
  hooksDir: "",
  dev: false,
  typesOut: "",
  migrationsDir: "",
  migrate: true,
  automigrate: null,
  graphqlIntrospection: "superusers",
  graphqlMaxDepth: 12,
  graphqlMaxCost: 50_000,
  graphqlMaxAliases: 30,
  graphqlMaxPerPage: 500,
  encryptionEnv: "",
  encryptionKey: "",
};

/** Splits `host:port` (IPv6 in brackets) and checks it. Returns null when malformed. */
export function parseListenAddress(address: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}
