import { createReadStream, createWriteStream, rmSync } from "node:fs";
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Logger } from "pino";
import { checkSqliteFile, type Database } from "../../db/index.js";
import { badRequest, fieldError } from "../../errors/index.js";
import { LocalStorage, S3Storage, type Storage, type StoredFile } from "../../files/index.js";
import type { CronService } from "../../jobs/index.js";
import { COLLECTIONS_TABLE } from "../collections/index.js";
import type { SettingsService } from "../settings/index.js";
import {
  AUTO_BACKUP_PREFIX,
  BACKUP_NAME_MAX,
  BACKUP_NAME_RE,
  generatedBackupName,
  isBackupKey,
  isUploadName,
  MANUAL_BACKUP_PREFIX,
} from "./backup-names.js";
import { BadBackupError, unpackBackup } from "./backup-read.js";
import { markStaged } from "./backup-restore.js";
import { storeKindOf, writeBackup } from "./backup-write.js";

/** One stored backup as `GET /api/backups` lists it (PocketBase's shape). */
export interface BackupInfo {
  key: string;
  size: number;
  modified: string;
}

/** What the backups service needs. */
export interface BackupsDeps {
  readonly db: Database;
  readonly dataDir: string;
  readonly settings: SettingsService;
  readonly cron: CronService;
  readonly log: Logger;
  readonly version: string;
  /** Whether record files are in S3 (then they are not in the archive). */
  readonly filesInS3: () => boolean;
}

/** The cron job id of the scheduled backups (PocketBase's). */
export const AUTO_BACKUP_CRON_ID = "__pbAutoBackup__";

/** The data folder's folder for archives being made or checked (removed at start). */
const WORK_DIR = ".backups-tmp";

const BUSY = "Try again later - another backup/restore process has already been started.";

function formatModified(d: Date): string {
  return d.toISOString().replace("T", " ");
}

/**
 * Backups as in PocketBase: archives of the data (SQLite's online copy, or a PostgreSQL dump read in one
 * snapshot, plus the record files) kept in the data folder's `backups/` or in S3 (`backups.s3`); made on
 * request or by the `backups.cron` schedule (pruned to `backups.cronMaxKeep`), uploaded, downloaded,
 * deleted, and restored — checked and unpacked here, applied when Basalt restarts. One backup or restore
 * runs at a time in this instance; scheduled ones run on one instance (the cron service).
 */
export class BackupsService {
  private active: string | null = null;
  private restarter: (() => void) | null = null;
  private scheduled = "";

  constructor(private readonly deps: BackupsDeps) {}

  /**
   * Registers the scheduled backups from the settings now and whenever they change; removes work files a
   * stopped process left behind.
   */
  start(): void {
    rmSync(join(this.deps.dataDir, WORK_DIR), { recursive: true, force: true });
    this.schedule();
    this.deps.settings.onApplied(() => this.schedule());
  }

  private schedule(): void {
    const cron = this.deps.settings.get().backups.cron;
    if (cron === this.scheduled) return;
    this.scheduled = cron;
    if (!cron) {
      this.deps.cron.remove(AUTO_BACKUP_CRON_ID);
      return;
    }
    this.deps.cron.add(AUTO_BACKUP_CRON_ID, cron, () => this.autoBackup());
  }

  /** Lets a restore restart Basalt; without it a restore is refused (nothing could apply it). */
  restartWith(restart: (() => void) | null): void {
    this.restarter = restart;
  }

  /** The store backups are kept in, from the current settings; close it after use. */
  private store(): Storage {
    const s3 = this.deps.settings.get().backups.s3;
    return s3.enabled ? new S3Storage(s3) : new LocalStorage(join(this.deps.dataDir, "backups"));
  }

  private async withStore<T>(fn: (store: Storage) => Promise<T>): Promise<T> {
    const store = this.store();
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  }

  /** Runs fn as the one backup/restore of this instance, or refuses with PocketBase's "try again later". */
  private async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    if (this.active !== null) throw badRequest(BUSY);
    this.active = name;
    try {
      return await fn();
    } finally {
      this.active = null;
    }
  }

  /** A private work folder inside the data folder (same file system, so finished files are moved, not copied). */
  private async workDir(): Promise<string> {
    const base = join(this.deps.dataDir, WORK_DIR);
    await mkdir(base, { recursive: true });
    return mkdtemp(join(base, "w-"));
  }

  /** Every stored backup, by key. */
  async list(): Promise<BackupInfo[]> {
    return this.withStore(async (store) => {
      const out: BackupInfo[] = [];
      for await (const key of store.list("")) {
        const info = await store.stat(key);
        if (info) out.push({ key, size: info.size, modified: formatModified(info.modified) });
      }
      return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    });
  }

  /** Checks a name given to `POST /api/backups` as PocketBase does (pattern, length, not taken). */
  private async checkName(name: string): Promise<void> {
    let error: ReturnType<typeof fieldError> | null = null;
    if (name.length > BACKUP_NAME_MAX)
      error = fieldError(
        "validation_length_out_of_range",
        `The length must be between 1 and ${BACKUP_NAME_MAX}.`,
      );
    else if (!BACKUP_NAME_RE.test(name))
      error = fieldError("validation_match_invalid", "Must be in a valid format.");
    else if (await this.withStore((s) => s.exists(name)))
      error = fieldError(
        "validation_backup_name_exists",
        "The backup file name is invalid or already exists.",
      );
    if (error) throw badRequest("An error occurred while validating the submitted data.", { name: error });
  }

  /** Makes a backup now (`POST /api/backups`); an empty name becomes `pb_backup_<app>_<time>.zip`. */
  async create(name = ""): Promise<string> {
    if (this.active !== null) throw badRequest(BUSY);
    if (name) await this.checkName(name);
    const key = name || generatedBackupName(MANUAL_BACKUP_PREFIX, this.deps.settings.get().meta.appName);
    await this.exclusive(key, () => this.make(key));
    return key;
  }

  private async make(key: string): Promise<void> {
    const work = await this.workDir();
    try {
      const zipFile = join(work, "backup.zip");
      await writeBackup(
        {
          db: this.deps.db,
          storageDir: this.deps.filesInS3() ? null : join(this.deps.dataDir, "storage"),
          version: this.deps.version,
        },
        work,
        zipFile,
      );
      const size = (await stat(zipFile)).size;
      await this.withStore((store) =>
        store.put(key, createReadStream(zipFile), {
          contentType: "application/zip",
          size,
          sourcePath: zipFile,
        }),
      );
      this.deps.log.info({ backup: key, size }, "backup created");
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** The scheduled backup: `@auto_pb_backup_<app>_<time>.zip`, then the oldest automatic ones beyond cronMaxKeep go. */
  async autoBackup(): Promise<void> {
    const key = generatedBackupName(AUTO_BACKUP_PREFIX, this.deps.settings.get().meta.appName);
    await this.exclusive(key, () => this.make(key));
    const keep = this.deps.settings.get().backups.cronMaxKeep;
    if (keep < 1) return;
    await this.withStore(async (store) => {
      const auto: { key: string; modified: number }[] = [];
      for await (const k of store.list("")) {
        if (!k.startsWith(AUTO_BACKUP_PREFIX)) continue;
        const info = await store.stat(k);
        if (info) auto.push({ key: k, modified: info.modified.getTime() });
      }
      // newest first (names carry the time too, for two made within one file-time tick)
      auto.sort((a, b) => b.modified - a.modified || (a.key < b.key ? 1 : -1));
      for (const old of auto.slice(keep)) await store.delete(old.key);
    });
  }

  /**
   * Stores an uploaded archive under its own name (`POST /api/backups/upload`) after checking it is a
   * Basalt backup of this store's kind that unpacks cleanly within the limits.
   */
  async upload(file: {
    originalName: string;
    size: number;
    open(): NodeJS.ReadableStream;
    path?: string;
  }): Promise<void> {
    const name = file.originalName;
    const invalid = (code: string, message: string) =>
      badRequest("An error occurred while validating the submitted data.", {
        file: fieldError(code, message),
      });
    if (!isUploadName(name))
      throw invalid("validation_invalid_name", "The file must be a .zip with a plain name.");
    if (await this.withStore((s) => s.exists(name)))
      throw invalid("validation_backup_name_exists", "Backup file with the specified name already exists.");
    if (!file.path) throw invalid("validation_invalid_file", "The upload was not received whole.");
    const work = await this.workDir();
    try {
      await this.check(file.path, work).catch((err: unknown) => {
        if (err instanceof BadBackupError) throw invalid("validation_invalid_backup", err.message);
        throw err;
      });
      await this.withStore((store) =>
        store.put(name, createReadStream(file.path!), { contentType: "application/zip", size: file.size }),
      );
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  private async check(zipFile: string, work: string): Promise<ReturnType<typeof unpackBackup>> {
    const staging = join(work, "unpacked");
    await mkdir(staging);
    return unpackBackup(zipFile, staging, storeKindOf(this.deps.db), (f) =>
      checkSqliteFile(f, COLLECTIONS_TABLE),
    );
  }

  /** Opens a stored backup for download, or null. */
  async open(key: string): Promise<{ file: StoredFile; close(): Promise<void> } | null> {
    if (!isBackupKey(key)) return null;
    const store = this.store();
    const file = await store.get(key).catch(() => null);
    if (!file) {
      await store.close();
      return null;
    }
    return { file, close: () => store.close() };
  }

  /** Deletes a stored backup; a missing one or the one being made or restored is a 400 (as in PocketBase). */
  async delete(key: string): Promise<void> {
    if (key === this.active) throw badRequest("The backup is currently being used and cannot be deleted.");
    const missing = () => badRequest("Invalid or already deleted backup file.");
    if (!isBackupKey(key)) throw missing();
    await this.withStore(async (store) => {
      if (!(await store.exists(key))) throw missing();
      await store.delete(key);
    });
  }

  /**
   * Restores a stored backup: downloads and checks it (a broken, foreign or hostile archive is a 400 with
   * nothing changed), stages it in the data folder, then asks Basalt to restart; the restart applies it.
   */
  async restore(key: string): Promise<void> {
    if (!this.restarter)
      throw badRequest("This Basalt cannot restart itself, so it cannot restore a backup.");
    await this.exclusive(key, async () => {
      const work = await this.workDir();
      try {
        const zipFile = join(work, "restore.zip");
        const found = await this.withStore(async (store) => {
          const file = await store.get(key).catch(() => null);
          if (!file || !isBackupKey(key)) return false;
          await pipeline(file.stream, createWriteStream(zipFile, { flags: "wx" }));
          return true;
        });
        if (!found) throw badRequest("Missing or invalid backup file.");
        const manifest = await this.check(zipFile, work).catch((err: unknown) => {
          if (err instanceof BadBackupError) throw badRequest(err.message);
          throw err;
        });
        markStaged(join(work, "unpacked"), manifest, this.deps.dataDir);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    });
    this.deps.log.warn({ backup: key }, "backup restore staged; restarting");
    // the restart waits for the answer to be sent (the caller arranges it)
    this.restarter();
  }

  /** The backup being made or restored, if any. */
  get busy(): string | null {
    return this.active;
  }
}
