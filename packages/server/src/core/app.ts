import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { AuthService } from "../auth/index.js";
import { type Database, openSqlite } from "../db/index.js";
import { forbidden } from "../errors/index.js";
import { clearRulesCache } from "../rules/index.js";
import { type CollectionsPage, queryCollections } from "./collections/collections-query.js";
import {
  type AuthCollection,
  type Collection,
  CollectionsService,
  initialCollections,
} from "./collections/index.js";
import { checkRule } from "./collections/rule-checker.js";
import type { BasaltConfig } from "./config.js";
import { type RecordRow, truncateCollection } from "./records/index.js";

/** The composed application: configuration, logger, database and the services every route uses. */
export interface App {
  readonly config: BasaltConfig;
  readonly log: Logger;
  readonly db: Database;
  readonly collections: CollectionsService;
  readonly auth: AuthService;
  /** One page of the collections list, filtered and sorted with PocketBase's filter syntax. */
  listCollections(opts: {
    filter: string;
    sort: string;
    page: number;
    perPage: number;
    skipTotal: boolean;
  }): Promise<CollectionsPage>;
  /**
   * Checks an auth collection's `authRule` for a record about to receive a token; throws 403 when it does not
   * match. `""` lets everyone in; a rule expression is evaluated against the record.
   */
  checkAuthRule(collection: AuthCollection, record: RecordRow): Promise<void>;
  /** Deletes every record of a collection, with relation cascades; all or nothing. */
  truncateCollection(collection: Collection): Promise<void>;
  /** Closes the database; the HTTP server is closed by its owner first. */
  close(): Promise<void>;
}

/** Opens the data folder's database, creates the system tables on first use and composes the services. */
export async function openApp(config: BasaltConfig, log: Logger): Promise<App> {
  mkdirSync(config.dataDir, { recursive: true });
  const db = openSqlite(join(config.dataDir, "data.db"), { synchronous: config.sqliteSynchronous });
  try {
    const collections = new CollectionsService(db, { checkRule });
    await collections.init(initialCollections);
    // Compiled rules embed the schema: drop them whenever a collection changes.
    collections.onChange(() => clearRulesCache());
    const auth = new AuthService(db, collections);
    return {
      config,
      log,
      db,
      collections,
      auth,
      listCollections: (opts) => queryCollections(db, (id) => collections.find(id), opts),
      checkAuthRule: async (collection, _record) => {
        const rule = collection.authRule;
        if (rule === "" || rule === undefined || collection.name === "_superusers") return;
        throw forbidden("The request doesn't satisfy the collection requirements to authenticate.");
      },
      truncateCollection: (c) => truncateCollection(db, collections.list(), c),
      close: () => db.close(),
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}
