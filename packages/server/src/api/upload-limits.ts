import type { FastifyRequest } from "fastify";
import type { App } from "../core/app.js";
import type { Collection } from "../core/collections/index.js";
import type { Field } from "../core/fields/index.js";
import { DEFAULT_FILE_MAX_SIZE } from "../core/records/index.js";

/** What one request may upload, decided from its route (and collection) before any byte is read. */
export interface UploadLimits {
  /** The most bytes the whole body may have (413 beyond). */
  readonly bodyLimit: number;
  /** The message of a 400 about a file part (PocketBase's "Failed to create record." and alike). */
  readonly failMessage: string;
  /**
   * The limits of file parts under a key: the most bytes of one file and the most files; null when the key
   * takes no files (a 400 naming it, never a silently dropped file).
   */
  fileLimits(key: string): { maxSize: number; maxFiles: number } | null;
}

/** PocketBase's default batch body limit when `batch.maxBodySize` is 0 (128 MiB). */
export const DEFAULT_BATCH_MAX_BODY = 128 << 20;

function maxSizeOf(field: Field): number {
  return Number(field.maxSize) > 0 ? Number(field.maxSize) : DEFAULT_FILE_MAX_SIZE;
}

function maxSelectOf(field: Field): number {
  return Math.max(Number(field.maxSelect) || 0, 1);
}

/** The file field a body key names (`field`, `field+`, `+field`), or undefined. */
function fileFieldOf(collection: Collection, key: string) {
  const name = key.replace(/^\+/, "").replace(/\+$/, "");
  return collection.fields.find((f) => f.type === "file" && f.name === name);
}

/** The body limit of a records write: the server's plus every file the collection can take (as PocketBase). */
function recordsBodyLimit(app: App, collection: Collection): number {
  let files = 0;
  for (const f of collection.fields) if (f.type === "file") files += maxSizeOf(f) * maxSelectOf(f);
  return app.config.bodyLimit + files;
}

/**
 * What a multipart request may upload, from its route: a records create/update takes files only under the
 * collection's file fields (each up to its `maxSize`, at most `maxSelect` of them); a batch takes them under
 * `requests.N.<field>` (checked per field once the batch item is known); any other route takes none.
 */
export function uploadLimits(app: App, request: FastifyRequest): UploadLimits {
  const url = request.routeOptions.url ?? "";
  const none: UploadLimits = {
    bodyLimit: app.config.bodyLimit,
    failMessage: "Failed to load the submitted data.",
    fileLimits: () => null,
  };
  const custom = request.customRoute?.route;
  if (custom) {
    const limit = custom.bodyLimit ?? app.config.bodyLimit;
    return {
      bodyLimit: limit,
      failMessage: none.failMessage,
      fileLimits: () => ({ maxSize: limit, maxFiles: 100 }),
    };
  }
  if (url.startsWith("/api/collections/:collection/records")) {
    const collection = app.collections.find((request.params as { collection?: string }).collection ?? "");
    if (!collection) return none;
    return {
      bodyLimit: recordsBodyLimit(app, collection),
      failMessage: request.method === "POST" ? "Failed to create record." : "Failed to update record.",
      fileLimits(key) {
        const field = fileFieldOf(collection, key);
        return field ? { maxSize: maxSizeOf(field), maxFiles: maxSelectOf(field) } : null;
      },
    };
  }
  if (url === "/api/backups/upload") {
    const max = app.config.backupMaxUploadBytes;
    return {
      bodyLimit: max + 64 * 1024,
      failMessage: "An error occurred while validating the submitted data.",
      fileLimits: (key) => (key === "file" ? { maxSize: max, maxFiles: 1 } : null),
    };
  }
  if (url === "/api/batch") {
    const max = app.settings.batch.maxBodySize > 0 ? app.settings.batch.maxBodySize : DEFAULT_BATCH_MAX_BODY;
    let biggest = 0;
    for (const c of app.collections.list())
      for (const f of c.fields) if (f.type === "file") biggest = Math.max(biggest, maxSizeOf(f));
    return {
      bodyLimit: max,
      failMessage: "Batch transaction failed.",
      fileLimits: (key) =>
        /^requests\.\d{1,4}\.\+?[\w]+\+?$/.test(key) && biggest ? { maxSize: biggest, maxFiles: 1000 } : null,
    };
  }
  return none;
}
