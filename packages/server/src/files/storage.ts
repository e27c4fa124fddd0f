import type { Readable } from "node:stream";

/** What storage knows of a stored object. */
export interface StoredFileInfo {
  /** Size in bytes. */
  readonly size: number;
  /** When it was last written. */
  readonly modified: Date;
  /** The MIME type it was stored with (sniffed from its bytes at upload). */
  readonly contentType: string;
}

/** An inclusive byte range of a stored object. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** A stored object opened for reading: its stream (the whole object or the asked range) and its info. */
export interface StoredFile {
  readonly info: StoredFileInfo;
  readonly stream: Readable;
}

/** How an object is written. */
export interface PutOptions {
  readonly contentType: string;
  /** The size when known up front (lets S3 pick a single PUT or a multipart upload). */
  readonly size?: number;
  /**
   * A file on this machine holding exactly the body's bytes (an upload's spool file): a driver may link it
   * into place instead of reading the stream, which it then destroys.
   */
  readonly sourcePath?: string;
}

/**
 * Where uploaded files live, behind one interface with a local-folder and an S3-compatible driver (both run
 * the same conformance suite). Keys are `/`-separated relative paths such as
 * `<collectionId>/<recordId>/<filename>`; every segment is validated by {@link checkKey}.
 */
export interface Storage {
  /** Streams `body` to `key`; the object becomes visible only once complete (never half-written). */
  put(key: string, body: Readable, opts: PutOptions): Promise<void>;
  /** Opens an object (or one byte range of it), or null when there is none. */
  get(key: string, range?: ByteRange): Promise<StoredFile | null>;
  /** The info of an object, or null when there is none. */
  stat(key: string): Promise<StoredFileInfo | null>;
  /** Whether an object exists. */
  exists(key: string): Promise<boolean>;
  /** Deletes an object; deleting a missing one is not an error. */
  delete(key: string): Promise<void>;
  /** Deletes every object under `prefix` (a folder: it ends with `/`). */
  deletePrefix(prefix: string): Promise<void>;
  /** Every key under `prefix`, in no particular order. */
  list(prefix: string): AsyncIterable<string>;
  /** Releases connections. */
  close(): Promise<void>;
}

const SEGMENT_RE = /^[^/\\\0]+$/;

/**
 * Refuses a key that could leave the storage root or collide with driver bookkeeping: empty, absolute,
 * backslashes, NUL, `.`/`..` or any segment starting with a dot.
 */
export function checkKey(key: string, opts: { prefix?: boolean } = {}): void {
  const body = opts.prefix && key.endsWith("/") ? key.slice(0, -1) : key;
  if (body === "" && opts.prefix) return;
  if (body.length > 1024) throw new Error("invalid storage key");
  for (const segment of body.split("/")) {
    if (!SEGMENT_RE.test(segment) || segment.startsWith(".")) throw new Error("invalid storage key");
  }
}
