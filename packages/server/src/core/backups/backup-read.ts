import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import yauzl from "yauzl";
import { parseDumpHeader, parseDumpLine } from "../transfer/index.js";
import {
  type BackupManifest,
  DUMP_ENTRY,
  MANIFEST_ENTRY,
  parseManifest,
  SQLITE_ENTRY,
  STORAGE_PREFIX,
  type StoreKind,
} from "./backup-manifest.js";

/** A backup archive refused before anything was changed; the message says why, for the API's 400. */
export class BadBackupError extends Error {}

/** The bounds of reading one archive. */
export interface ArchiveLimits {
  /** The most entries. */
  readonly maxEntries: number;
  /** The most bytes all entries may unpack to, whatever the archive's size. */
  readonly maxBytes: number;
  /** The most an archive may unpack to per byte of its own size (zip bombs unpack thousands of times over). */
  readonly maxRatio: number;
}

/** Default bounds: a million entries, 64 GiB, 200 times the archive's size (plus 16 MiB for small ones). */
export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxEntries: 1_000_000,
  maxBytes: 64 * 1024 ** 3,
  maxRatio: 200,
};
const RATIO_SLACK = 16 * 1024 ** 2;
const MAX_MANIFEST = 64 * 1024;

const bad = (why: string): never => {
  throw new BadBackupError(`The file is not a Basalt backup this server can restore: ${why}.`);
};

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(
      file,
      {
        lazyEntries: true,
        autoClose: true,
        strictFileNames: true,
        validateEntrySizes: true,
        decodeStrings: true,
      },
      (err, zip) => (err ? reject(err) : resolve(zip)),
    );
  });
}

function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream)));
  });
}

/** Entries one by one (the archive is read lazily: one entry's data is consumed before the next is asked). */
async function* entriesOf(zip: yauzl.ZipFile): AsyncGenerator<yauzl.Entry> {
  for (;;) {
    const next = await new Promise<yauzl.Entry | null>((resolve, reject) => {
      const onEntry = (e: yauzl.Entry) => {
        zip.off("end", onEnd);
        zip.off("error", onError);
        resolve(e);
      };
      const onEnd = () => {
        zip.off("entry", onEntry);
        zip.off("error", onError);
        resolve(null);
      };
      const onError = (err: Error) => {
        zip.off("entry", onEntry);
        zip.off("end", onEnd);
        reject(err);
      };
      zip.once("entry", onEntry);
      zip.once("end", onEnd);
      zip.once("error", onError);
      zip.readEntry();
    });
    if (!next) return;
    yield next;
  }
}

const SEGMENT = /^[^/\\\0]+$/;

/** The relative path a `storage/…` entry unpacks to, or null for any name that could leave the folder. */
function storagePath(name: string): string | null {
  const rest = name.slice(STORAGE_PREFIX.length);
  if (!rest || rest.length > 1024) return null;
  const segments = rest.split("/");
  for (const s of segments) if (!SEGMENT.test(s) || s === "." || s === "..") return null;
  return segments.join("/");
}

function isSymlink(entry: yauzl.Entry): boolean {
  return ((entry.externalFileAttributes >>> 16) & 0o170000) === 0o120000;
}

/**
 * Checks a backup archive and unpacks it into `stagingDir` (which must exist and be empty): the manifest
 * must come first and name this store's kind; every entry must be the database entry or a file under
 * `storage/` with a plain relative name (no absolute path, `..`, backslash or link); the archive must not
 * unpack beyond the limits; the database entry's SHA-256 and the files' count and bytes must match the
 * manifest; and the database itself must read (SQLite: `check`, PostgreSQL: every dump line and the counts).
 * Throws BadBackupError with the reason; the caller removes the staging folder then.
 */
export async function unpackBackup(
  zipFile: string,
  stagingDir: string,
  store: StoreKind,
  checkSqlite: (file: string) => Promise<string | null>,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
): Promise<BackupManifest> {
  const size = (await stat(zipFile)).size;
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(zipFile);
  } catch (err) {
    return bad(`it is not a readable zip archive (${(err as Error).message})`);
  }
  try {
    if (zip.entryCount > limits.maxEntries) bad(`it has more than ${limits.maxEntries} entries`);
    const budget = Math.min(limits.maxBytes, size * limits.maxRatio + RATIO_SLACK);
    let manifest: BackupManifest | null = null;
    let unpacked = 0;
    let files = 0;
    let fileBytes = 0;
    let dbHash: string | null = null;
    const seen = new Set<string>();
    for await (const entry of entriesOf(zip)) {
      const name = entry.fileName;
      if (!manifest) {
        if (name !== MANIFEST_ENTRY) bad("its first entry is not a Basalt manifest.json");
        if (entry.uncompressedSize > MAX_MANIFEST) bad("its manifest.json is too large");
        const chunks: Buffer[] = [];
        for await (const chunk of await openEntry(zip, entry)) chunks.push(chunk as Buffer);
        const parsed = parseManifest(Buffer.concat(chunks).toString("utf8"));
        if (typeof parsed === "string") return bad(parsed);
        if (parsed.store !== store)
          bad(
            `it was taken from a ${parsed.store === "sqlite" ? "SQLite" : "PostgreSQL"} Basalt and this one runs on ${store === "sqlite" ? "SQLite" : "PostgreSQL"}`,
          );
        manifest = parsed;
        continue;
      }
      if (name.endsWith("/")) continue; // a folder entry: folders are made as files need them
      if (seen.has(name)) bad(`the entry ${JSON.stringify(name)} appears twice`);
      seen.add(name);
      if (isSymlink(entry)) bad(`the entry ${JSON.stringify(name)} is a symbolic link`);
      const isDb = name === manifest.database.entry;
      const rel = isDb ? null : name.startsWith(STORAGE_PREFIX) ? storagePath(name) : null;
      if (!isDb && rel === null)
        bad(`the entry ${JSON.stringify(name.slice(0, 200))} has no place in a backup`);
      if (rel !== null && manifest.files.storage !== "local")
        bad("it holds files its manifest says are in S3");
      unpacked += entry.uncompressedSize;
      if (unpacked > budget)
        bad("it unpacks to far more than its size (a zip bomb?) or beyond the size limit");
      const target = isDb ? join(stagingDir, name) : join(stagingDir, "storage", ...rel!.split("/"));
      await mkdir(dirname(target), { recursive: true });
      const hash = createHash("sha256");
      const tee = new PassThrough();
      tee.on("data", (chunk: Buffer) => {
        if (isDb) hash.update(chunk);
      });
      try {
        // the sizes declared are enforced while inflating (validateEntrySizes): an entry cannot unpack to more
        await pipeline(await openEntry(zip, entry), tee, createWriteStream(target, { flags: "wx" }));
      } catch (err) {
        bad(`the entry ${JSON.stringify(name.slice(0, 200))} is damaged (${(err as Error).message})`);
      }
      if (isDb) dbHash = hash.digest("hex");
      else {
        files++;
        fileBytes += entry.uncompressedSize;
      }
    }
    if (!manifest) return bad("it is empty");
    if (dbHash === null) bad(`it has no ${manifest.database.entry}`);
    if (dbHash !== manifest.database.sha256)
      bad(`its ${manifest.database.entry} does not match its checksum`);
    if (files !== manifest.files.count || fileBytes !== manifest.files.bytes)
      bad(`it holds ${files} files (${fileBytes} bytes); its manifest says ${manifest.files.count}`);
    const dbFile = join(stagingDir, manifest.database.entry);
    const problem =
      manifest.database.entry === SQLITE_ENTRY ? await checkSqlite(dbFile) : await checkDump(dbFile);
    if (problem) bad(problem);
    return manifest;
  } catch (err) {
    if (err instanceof BadBackupError) throw err;
    return bad((err as Error).message);
  } finally {
    zip.close();
  }
}

/** Reads a whole dump: its header, every line's shape, its footer and the records counted per collection. */
async function checkDump(file: string): Promise<string | null> {
  const lines = createInterface({
    input: createReadStream(file, "utf8"),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let n = 0;
  let footer: { counts: Record<string, number> } | null = null;
  const counts: Record<string, number> = {};
  try {
    for await (const text of lines) {
      n++;
      if (n === 1) {
        parseDumpHeader(text);
        continue;
      }
      if (!text.trim()) continue;
      if (footer) return `${DUMP_ENTRY} goes on after its end line`;
      const line = parseDumpLine(text, n);
      if (line.type === "record") counts[line.collection] = (counts[line.collection] ?? 0) + 1;
      if (line.type === "end") footer = line;
    }
  } catch (err) {
    return `${DUMP_ENTRY} is damaged (${(err as Error).message})`;
  }
  if (!footer) return `${DUMP_ENTRY} has no end line (truncated?)`;
  for (const [name, count] of Object.entries(footer.counts))
    if ((counts[name] ?? 0) !== count)
      return `${DUMP_ENTRY} counts ${count} records of ${name} but holds ${counts[name] ?? 0}`;
  return null;
}
