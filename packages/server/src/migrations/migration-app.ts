import type { Logger } from "pino";
import { importCollections } from "../api/collections-import.js";
import type { App } from "../core/app.js";
import { collectionToJSON } from "../core/collections/index.js";
import type { RecordsClient } from "../core/records/index.js";
import type { Queryable, SqlValue } from "../db/index.js";

/** A collection as the collections API returns it (`GET /api/collections/{id}`). */
export type CollectionJSON = Record<string, unknown>;

/** Raw SQL inside the migration's transaction: `?` placeholders on both engines. */
export interface MigrationDb {
  /** `sqlite` or `postgres`, for the rare statement that must be spelled per engine. */
  readonly dialect: "sqlite" | "postgres";
  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
  /** One or more statements without parameters (DDL). */
  exec(sql: string): Promise<void>;
}

/**
 * What a migration's `up(app)` and `down(app)` receive. Everything runs in the migration's one transaction:
 * a throw rolls back every change the migration made, and its history row with them.
 */
export interface MigrationApp {
  /** The collections, with the same validation and table changes as the collections API. */
  readonly collections: {
    /** Every collection, as the API returns it. */
    list(): CollectionJSON[];
    /** A collection by id or name, or undefined. */
    find(idOrName: string): CollectionJSON | undefined;
    /** Creates a collection from the body `POST /api/collections` takes (an `id` is kept). */
    create(input: CollectionJSON): Promise<CollectionJSON>;
    /** Updates a collection with the body `PATCH /api/collections/{id}` takes (`fields` replace the list). */
    update(idOrName: string, input: CollectionJSON): Promise<CollectionJSON>;
    /** Deletes a collection and its records. */
    delete(idOrName: string): Promise<void>;
    /**
     * `PUT /api/collections/import`: creates or updates each listed collection (by id, else name); with
     * `deleteMissing` also deletes the non-system collections not listed, and the fields not listed.
     */
    import(collections: CollectionJSON[], deleteMissing?: boolean): Promise<void>;
  };
  /** Records as the system, with the same validation and hooks as the REST API. */
  readonly records: RecordsClient;
  /** Raw SQL, the escape hatch for what the collections API does not cover. */
  readonly db: MigrationDb;
  /** The process log. */
  readonly log: Logger;
}

/** The migration API over an app, its raw SQL on the migration's transaction. */
export function migrationApp(app: App, tx: Queryable, log: Logger): MigrationApp {
  return {
    collections: {
      list: () => app.collections.list().map(collectionToJSON),
      find: (idOrName) => {
        const c = app.collections.find(idOrName);
        return c ? collectionToJSON(c) : undefined;
      },
      create: async (input) => collectionToJSON(await app.collections.create(input)),
      update: async (idOrName, input) => collectionToJSON(await app.collections.update(idOrName, input)),
      delete: (idOrName) => app.collections.delete(idOrName),
      import: (collections, deleteMissing = false) => importCollections(app, { collections, deleteMissing }),
    },
    records: app.recordsClient,
    db: {
      dialect: tx.dialect.name === "postgres" ? "postgres" : "sqlite",
      all: (sql, params) => tx.all(sql, params),
      get: (sql, params) => tx.get(sql, params),
      run: (sql, params) => tx.run(sql, params),
      exec: (sql) => tx.exec(sql),
    },
    log,
  };
}
