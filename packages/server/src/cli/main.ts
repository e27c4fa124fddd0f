import { availableParallelism } from "node:os";
import { Command, InvalidArgumentError, Option } from "commander";
import { runExport } from "./export.js";
import { runGraphqlSchema } from "./graphql-schema.js";
import { runImport } from "./import.js";
import { runImportPocketbase } from "./import-pocketbase.js";
import {
  runMigrateCollections,
  runMigrateCreate,
  runMigrateDown,
  runMigrateHistorySync,
  runMigrateStatus,
  runMigrateUp,
} from "./migrate.js";
import { runServe } from "./serve.js";
import { runSuperuserDelete, runSuperuserIps, runSuperuserUpsert } from "./superuser.js";
import { runTypegen } from "./typegen.js";

function bool(value: string): boolean {
  if (/^(1|t|true|on|yes)$/i.test(value)) return true;
  if (/^(0|f|false|off|no)$/i.test(value)) return false;
  throw new InvalidArgumentError("must be true or false");
}

function targets(value: string): ("loopback" | "private")[] {
  const list = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of list)
    if (item !== "loopback" && item !== "private")
      throw new InvalidArgumentError("a comma-separated list of loopback and private");
  return list as ("loopback" | "private")[];
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("must be a positive whole number");
  return n;
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a whole number (0 or more)");
  return n;
}

/** `--sqlite-read-threads`: `auto` or a whole number from 0 to 256. */
function threadCount(value: string): number | "auto" {
  if (value.trim().toLowerCase() === "auto") return "auto";
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 256)
    throw new InvalidArgumentError("must be auto or a whole number from 0 to 256");
  return n;
}

/** `--workers`: a count from 1 to 256, or `auto` for the cores this process may use. */
function workerCount(value: string): number {
  if (value.trim().toLowerCase() === "auto") return availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256)
    throw new InvalidArgumentError("must be auto or a whole number from 1 to 256");
  return n;
}

const dirOption = () =>
  new Option("--dir <path>", "the data folder (SQLite files, uploads, backups)")
    .env("BASALT_DIR")
    .default("./basalt_data");

const dbOption = () =>
  new Option(
    "--db <url>",
    "store the data in PostgreSQL (postgres://user@host:port/db) instead of SQLite in --dir",
  ).env("BASALT_DB_URL");

const encryptionEnvOption = () =>
  new Option(
    "--encryption-env <name>",
    "the environment variable holding the 32-character key that encrypts stored secrets (SMTP/S3 passwords, OAuth2 client secrets, webhook secrets)",
  ).env("BASALT_ENCRYPTION_ENV");
const migrationsDirOption = () =>
  new Option(
    "--migrations-dir <dir>",
    "folder of the migration files (default: basalt_migrations beside the data folder)",
  ).env("BASALT_MIGRATIONS_DIR");

const program = new Command("basalt")
  .description("Basalt: an open-source backend in one command (PocketBase-compatible REST API).")
  .version("0.1.0")
  // every usage error (unknown flag, missing argument, bad value) ends with its code, as other errors do
  .configureOutput({
    outputError: (message, write) => write(`${message.trimEnd()} (BASALT_ERR_CLI_USAGE)\n`),
  })
  .showHelpAfterError();

program
  .command("serve")
  .description("serve the API on --http with the data folder --dir")
  .addOption(
    new Option("--http <host:port>", "address to listen on").env("BASALT_HTTP").default("127.0.0.1:8090"),
  )
  .addOption(dirOption())
  .addOption(dbOption())
  .addOption(
    new Option(
      "--workers <n|auto>",
      "serve from N processes sharing the port (auto: one per core); 1 is a single process",
    )
      .env("BASALT_WORKERS")
      .argParser(workerCount)
      .default(1),
  )
  .addOption(
    new Option(
      "--redis <url>",
      "share realtime events, cache reloads and rate limits with other instances through Redis (redis://host:port)",
    ).env("BASALT_REDIS_URL"),
  )
  .addOption(
    new Option("--redis-prefix <prefix>", "prefix of every Redis key and channel Basalt uses")
      .env("BASALT_REDIS_PREFIX")
      .default("basalt:"),
  )
  .addOption(
    new Option("--origins <list>", "comma-separated CORS origins allowed to call the API (* for any)")
      .env("BASALT_ORIGINS")
      .default("*"),
  )
  .addOption(
    new Option("--log-level <level>", "log level")
      .env("BASALT_LOG_LEVEL")
      .choices(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info"),
  )
  .addOption(
    new Option(
      "--log-format <format>",
      "process log: one JSON object per line, or pretty lines for a terminal",
    )
      .env("BASALT_LOG_FORMAT")
      .choices(["json", "pretty"])
      .default("json"),
  )
  .addOption(
    new Option("--metrics", "serve Prometheus metrics at /api/metrics").env("BASALT_METRICS").default(false),
  )
  .addOption(
    new Option(
      "--metrics-token <token>",
      "require Authorization: Bearer <token> (or a superuser) on /api/metrics",
    ).env("BASALT_METRICS_TOKEN"),
  )
  .addOption(
    new Option("--body-limit <bytes>", "largest request body accepted, in bytes")
      .env("BASALT_BODY_LIMIT")
      .argParser(positiveInt)
      .default(32 * 1024 * 1024),
  )
  .addOption(
    new Option(
      "--sqlite-sync <mode>",
      "SQLite synchronous mode: NORMAL survives a crash, FULL also a power loss",
    )
      .env("BASALT_SQLITE_SYNC")
      .choices(["NORMAL", "FULL"])
      .default("NORMAL"),
  )
  .addOption(
    new Option("--app-url <url>", "public URL of the app, used in e-mail links").env("BASALT_APP_URL"),
  )
  .addOption(
    new Option("--app-name <name>", "name of the app, used in e-mails")
      .env("BASALT_APP_NAME")
      .default("Basalt"),
  )
  .addOption(
    new Option("--trusted-proxies <list>", "comma-separated proxy IPs/CIDRs whose X-Forwarded-For is trusted")
      .env("BASALT_TRUSTED_PROXIES")
      .default(""),
  )
  .addOption(
    new Option("--shutdown-timeout <ms>", "how long SIGTERM waits for in-flight requests")
      .env("BASALT_SHUTDOWN_TIMEOUT")
      .argParser(positiveInt)
      .default(10_000),
  )
  .addOption(
    new Option("--realtime-max-clients <n>", "SSE streams open at once on this instance (429 above it)")
      .env("BASALT_REALTIME_MAX_CLIENTS")
      .argParser(positiveInt)
      .default(5_000),
  )
  .addOption(
    new Option(
      "--realtime-max-clients-per-ip <n>",
      "SSE streams open at once from one client address (an IPv6 /64 is one address)",
    )
      .env("BASALT_REALTIME_MAX_CLIENTS_PER_IP")
      .argParser(positiveInt)
      .default(100),
  )
  .addOption(
    new Option("--realtime-max-subscription-bytes <n>", "total length of one realtime client's subscriptions")
      .env("BASALT_REALTIME_MAX_SUBSCRIPTION_BYTES")
      .argParser(positiveInt)
      .default(256 * 1024),
  )
  .addOption(
    new Option(
      "--realtime-max-subscription-bytes-per-ip <n>",
      "total length of the subscriptions of one address's realtime clients",
    )
      .env("BASALT_REALTIME_MAX_SUBSCRIPTION_BYTES_PER_IP")
      .argParser(positiveInt)
      .default(4 * 1024 * 1024),
  )
  .addOption(
    new Option(
      "--realtime-max-subscription-bytes-total <n>",
      "total length of every realtime client's subscriptions",
    )
      .env("BASALT_REALTIME_MAX_SUBSCRIPTION_BYTES_TOTAL")
      .argParser(positiveInt)
      .default(64 * 1024 * 1024),
  )
  .addOption(
    new Option(
      "--realtime-max-options-per-collection <n>",
      "different subscription options (filter, expand, fields) one client may use per collection",
    )
      .env("BASALT_REALTIME_MAX_OPTIONS_PER_COLLECTION")
      .argParser(positiveInt)
      .default(100),
  )
  .addOption(
    new Option(
      "--realtime-max-checks-per-event <n>",
      "rule/filter checks one record event may run across all realtime clients",
    )
      .env("BASALT_REALTIME_MAX_CHECKS_PER_EVENT")
      .argParser(positiveInt)
      .default(5_000),
  )
  .addOption(
    new Option(
      "--max-connections-per-ip <n>",
      "TCP connections one client address may hold open at once (trusted proxies exempt; 0: no cap)",
    )
      .env("BASALT_MAX_CONNECTIONS_PER_IP")
      .argParser(wholeNumber)
      .default(1_000),
  )
  .addOption(
    new Option(
      "--expand-max-records <n>",
      "expanded records one response, realtime event or batch may hold (400 above it)",
    )
      .env("BASALT_EXPAND_MAX_RECORDS")
      .argParser(positiveInt)
      .default(5_000),
  )
  .addOption(
    new Option(
      "--filter-max-fanout <n>",
      "multi-valued relation hops (back-relations, multiple relations) in one client filter/sort path",
    )
      .env("BASALT_FILTER_MAX_FANOUT")
      .argParser(positiveInt)
      .default(2),
  )
  .addOption(
    new Option("--filter-max-joins <n>", "joined tables one client filter or sort may need")
      .env("BASALT_FILTER_MAX_JOINS")
      .argParser(positiveInt)
      .default(12),
  )
  .addOption(
    new Option("--query-timeout <ms>", "how long one client-driven query may run before it is stopped")
      .env("BASALT_QUERY_TIMEOUT")
      .argParser(positiveInt)
      .default(3_000),
  )
  .addOption(
    new Option(
      "--sqlite-offload-after <ms>",
      "SQLite: how long a client-driven read runs on the event loop before it moves to a reader thread",
    )
      .env("BASALT_SQLITE_OFFLOAD_AFTER")
      .argParser(positiveInt)
      .default(15),
  )
  .addOption(
    new Option(
      "--sqlite-read-threads <n>",
      "SQLite: reader threads for long client-driven reads (auto: the cores less one; 0: none)",
    )
      .env("BASALT_SQLITE_READ_THREADS")
      .argParser(threadCount)
      .default("auto"),
  )
  .addOption(
    new Option(
      "--oauth2-avatar-allowed-targets <list>",
      "non-public addresses (loopback, private) an OAuth2 avatar URL may point to when it is fetched into a file field",
    )
      .env("BASALT_OAUTH2_AVATAR_ALLOWED_TARGETS")
      .argParser(targets)
      .default([]),
  )
  .addOption(
    new Option("--public-dir <path>", "folder of static files served at / (PocketBase's pb_public)")
      .env("BASALT_PUBLIC_DIR")
      .default("./basalt_public"),
  )
  .addOption(
    new Option(
      "--index-fallback [bool]",
      "serve the public folder's index.html for missing paths without an extension (single-page apps)",
    )
      .env("BASALT_INDEX_FALLBACK")
      .argParser(bool)
      .default(true),
  )
  .addOption(
    new Option(
      "--hooks-dir <dir>",
      "folder of the TypeScript/JavaScript hook files (default: basalt_hooks beside the data folder)",
    ).env("BASALT_HOOKS_DIR"),
  )
  .addOption(
    new Option(
      "--dev",
      "development mode: reload hook files when they change and rewrite --types-out when collections change",
    ).env("BASALT_DEV"),
  )
  .addOption(migrationsDirOption())
  .addOption(
    new Option("--no-migrate", "do not apply the pending migrations at start").env("BASALT_NO_MIGRATE"),
  )
  .addOption(
    new Option(
      "--automigrate [bool]",
      "write a migration file for each collection change made through the API (default: on with --dev)",
    )
      .env("BASALT_AUTOMIGRATE")
      .argParser(bool),
  )
  .addOption(
    new Option("--types-out <file>", "with --dev: where to write the collections' TypeScript types").env(
      "BASALT_TYPES_OUT",
    ),
  )
  .addOption(encryptionEnvOption())
  .addOption(
    new Option("--graphql-introspection <who>", "who may introspect the GraphQL schema")
      .env("BASALT_GRAPHQL_INTROSPECTION")
      .choices(["superusers", "all", "off"])
      .default("superusers"),
  )
  .addOption(
    new Option("--graphql-max-depth <n>", "deepest field nesting of a GraphQL operation")
      .env("BASALT_GRAPHQL_MAX_DEPTH")
      .argParser(positiveInt)
      .default(12),
  )
  .addOption(
    new Option("--graphql-max-cost <n>", "largest estimated cost of a GraphQL operation")
      .env("BASALT_GRAPHQL_MAX_COST")
      .argParser(positiveInt)
      .default(50_000),
  )
  .addOption(
    new Option("--graphql-max-aliases <n>", "most aliases in one GraphQL document")
      .env("BASALT_GRAPHQL_MAX_ALIASES")
      .argParser(positiveInt)
      .default(30),
  )
  .addOption(
    new Option("--graphql-max-per-page <n>", "largest page a GraphQL list returns (at most 1000)")
      .env("BASALT_GRAPHQL_MAX_PER_PAGE")
      .argParser(positiveInt)
      .default(500),
  )
  .addHelpText(
    "after",
    "\nAt start-up, BASALT_SUPERUSER_EMAIL and BASALT_SUPERUSER_PASSWORD create (or update) a superuser." +
      "\nWith --workers, SIGTERM/SIGINT drain every worker and SIGHUP replaces them one at a time.",
  )
  .action(runServe);

const superuser = program.command("superuser").description("manage superuser accounts");
superuser
  .command("upsert")
  .description("create a superuser, or set the password of an existing one")
  .argument("<email>", "the superuser's e-mail address")
  .argument("<password>", "the password (at least 8 characters)")
  .addOption(dirOption())
  .addOption(dbOption())
  .addOption(encryptionEnvOption())
  .action(runSuperuserUpsert);
superuser
  .command("delete")
  .description("delete a superuser")
  .argument("<email>", "the superuser's e-mail address")
  .addOption(dirOption())
  .addOption(dbOption())
  .addOption(encryptionEnvOption())
  .action(runSuperuserDelete);
superuser
  .command("ips")
  .description(
    "set the superuser IP allowlist (settings.superuserIPs) to these IPs/CIDR subnets, or clear it when none is given",
  )
  .argument("[ips...]", "IP addresses or CIDR subnets, e.g. 127.0.0.1 10.0.0.0/8 ::1")
  .addOption(dirOption())
  .addOption(dbOption())
  .addOption(encryptionEnvOption())
  .action(runSuperuserIps);

const migrate = program
  .command("migrate")
  .description("create, apply and revert migration files (TypeScript/JavaScript) in the migrations folder");
migrate
  .command("create")
  .description("write a new, empty migration file (TypeScript; --js for JavaScript)")
  .argument("<name>", "what the migration does, e.g. add_posts (letters, digits, underscores)")
  .option("--js", "write JavaScript instead of TypeScript")
  .addOption(dirOption())
  .addOption(dbOption().hideHelp())
  .addOption(migrationsDirOption())
  .action(runMigrateCreate);
migrate
  .command("up")
  .description("apply the pending migrations in name order, each in one transaction with its history row")
  .addOption(dirOption())
  .addOption(dbOption())
  .addOption(migrationsDirOption())
  .addOption(encryptionEnvOption())
  .action(runMigrateUp);
migrate
  .command("down")
  .description("revert the last N applied migrations, the last applied first")
  .argument("[n]", "how many (default 1)", positiveInt)
  .addOption(dirOption())
  .addOption(dbOption())
  .addOption(migrationsDirOption())
  .addOption(encryptionEnvOption())
  .action(runMigrateDown);
migrate
  .command("history-sync")
  .description("forget the applied migrations whose files are no longer in the migrations folder")
  .addOption(dirOption())
  .addOption(dbOption())
  .addOption(migrationsDirOption())
  .addOption(encryptionEnvOption())
  .action(runMigrateHistorySync);
migrate
  .command("collections")
  .description("write a migration that imports every current collection (a snapshot), recorded as applied")
  .addOption(dirOption())
  .addOption(dbOption())
  .addOption(migrationsDirOption())
  .addOption(encryptionEnvOption())
  .action(runMigrateCollections);
migrate
  .command("status")
  .description("list the applied and the pending migrations")
  .addOption(dirOption())
  .addOption(dbOption())
  .addOption(migrationsDirOption())
  .addOption(encryptionEnvOption())
  .action(runMigrateStatus);

program
  .command("typegen")
  .description(
    "write TypeScript types for the collections of --dir (or --db): records, expand, create/update bodies and TypedPocketBase for the pocketbase SDK",
  )
  .option("--out <file>", "the file to write", "./basalt-types.d.ts")
  .option("--graphql <file>", "also write the GraphQL schema (SDL) that /api/graphql serves to this file")
  .addOption(dirOption())
  .addOption(dbOption())
  .action(runTypegen);

program
  .command("export")
  .description(
    "write the collections, settings and records of --dir (or --db) to a new dump file (NDJSON, mode 0600: it holds password hashes and secrets)",
  )
  .requiredOption("--out <file>", "the dump file to create (must not exist)")
  .addOption(dirOption())
  .addOption(dbOption())
  .action(runExport);
program
  .command("import")
  .description(
    "load a dump into an EMPTY data folder --dir or PostgreSQL database --db in one transaction, then verify the counts",
  )
  .requiredOption("--in <file>", "the dump file `basalt export` wrote")
  .addOption(dirOption())
  .addOption(dbOption())
  .addHelpText(
    "after",
    "\nSQLite to PostgreSQL: basalt export --dir ./basalt_data --out dump.ndjson && basalt import --in dump.ndjson --db postgres://…",
  )
  .action(runImport);

program
  .command("import-pocketbase")
  .description(
    "bring a PocketBase data folder (0.22 or 0.23+, opened read-only) into an EMPTY data folder --dir or PostgreSQL database --db: collections, records, superusers, users with their passwords, OAuth2 links and uploaded files",
  )
  .argument("<pb_data>", "the PocketBase data folder (the one holding data.db and storage/)")
  .addOption(dirOption())
  .addOption(dbOption())
  .addHelpText(
    "after",
    "\nStop PocketBase first. Settings encrypted with PocketBase's --encryptionEnv cannot be read and are left out.",
  )
  .action(runImportPocketbase);

program
  .command("graphql-schema")
  .description(
    "print the GraphQL schema (SDL) that /api/graphql serves for the collections of --dir (or --db)",
  )
  .option("--out <file>", "write the SDL to this file instead of printing it")
  .addOption(dirOption())
  .addOption(dbOption())
  .addOption(encryptionEnvOption())
  .action(runGraphqlSchema);

await program.parseAsync(process.argv);
