import type { Logger } from "pino";
import type { Storage } from "./storage.js";
import { Thumbnailer } from "./thumbs.js";
import type { UploadedFile } from "./uploaded-file.js";

/** One upload of a record write: the file and the storage key it goes to. */
export interface PlannedUpload {
  readonly key: string;
  readonly file: UploadedFile;
}

/** The storage key of a record's file (`<collectionId>/<recordId>/<filename>`, as PocketBase lays it out). */
export function recordFileKey(collectionId: string, recordId: string, name: string): string {
  return `${collectionId}/${recordId}/${name}`;
}

/** The folder of every file of a collection (dropped with the collection, or when it is truncated). */
export function collectionFilesPrefix(collectionId: string): string {
  return `${collectionId}/`;
}

/** The folder of a record's files (and their thumbnails). */
export function recordFilesPrefix(collectionId: string, recordId: string): string {
  return `${collectionId}/${recordId}/`;
}

/** The folder of one file's thumbnails (`thumbs_<filename>/`, as PocketBase lays it out). */
export function thumbsPrefix(collectionId: string, recordId: string, name: string): string {
  return `${collectionId}/${recordId}/thumbs_${name}/`;
}

/**
 * Record files in the configured storage: uploads with all-or-nothing clean-up, and the best-effort deletes
 * that run after a commit (a delete that fails is logged; the record change stands).
 */
export class FilesService {
  /** Thumbnails rendered on first request and kept in storage. */
  readonly thumbs = new Thumbnailer();

  constructor(
    private current: Storage,
    private readonly log: Logger,
  ) {}

  /** The storage files are read from and written to now. */
  get storage(): Storage {
    return this.current;
  }

  /** Switches to another storage (the `s3` settings changed); the old one is closed. */
  async use(storage: Storage): Promise<void> {
    const old = this.current;
    this.current = storage;
    if (old !== storage) await old.close().catch((err) => this.log.warn({ err }, "storage close failed"));
  }

  /** Writes every upload; when one fails, the ones already written are deleted and the error is thrown. */
  async upload(uploads: readonly PlannedUpload[]): Promise<void> {
    const done: string[] = [];
    try {
      for (const u of uploads) {
        await this.current.put(u.key, u.file.open(), {
          contentType: u.file.mimeType,
          size: u.file.size,
          sourcePath: u.file.path,
        });
        done.push(u.key);
      }
    } catch (err) {
      await this.discard(done);
      throw err;
    }
  }

  /** Deletes objects and folders, logging (not throwing) failures: for clean-up after a commit or rollback. */
  async discard(keys: readonly string[], prefixes: readonly string[] = []): Promise<void> {
    for (const key of keys) {
      await this.current.delete(key).catch((err) => this.log.warn({ err, key }, "file delete failed"));
    }
    for (const prefix of prefixes) {
      await this.current
        .deletePrefix(prefix)
        .catch((err) => this.log.warn({ err, prefix }, "file folder delete failed"));
    }
  }

  async close(): Promise<void> {
    await this.current.close();
  }
}
