import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { normalizeFileName } from "./file-names.js";
import { SNIFF_BYTES, sniffMime } from "./sniff.js";

/**
 * A file submitted with a record (multipart part, or fetched such as an OAuth2 avatar), not yet in storage:
 * its client name, its normalised stored name, size and sniffed MIME type, and a way to read its bytes.
 */
export class UploadedFile {
  constructor(
    /** The name the client sent (never used as a path). */
    readonly originalName: string,
    /** The stored name, normalised PocketBase's way (random suffix). */
    readonly name: string,
    readonly size: number,
    /** Sniffed from the bytes, never the client's claim. */
    readonly mimeType: string,
    private readonly opener: () => Readable,
    /** The file on disk holding the bytes, when it was spooled there (local storage may link it). */
    readonly path?: string,
  ) {}

  /** A new stream of the file's bytes. */
  open(): Readable {
    return this.opener();
  }

  /** Serialised as its stored name (what the record holds). */
  toJSON(): string {
    return this.name;
  }

  /** A file of bytes held in memory (small ones only: an avatar, a test). */
  static async fromBuffer(bytes: Buffer, originalName: string): Promise<UploadedFile> {
    const sniffed = await sniffMime(bytes.subarray(0, SNIFF_BYTES));
    return new UploadedFile(
      originalName,
      normalizeFileName(originalName, sniffed.ext),
      bytes.length,
      sniffed.mime,
      () => Readable.from([bytes]),
    );
  }

  /** A file spooled to a temporary path while its request was read. */
  static async fromSpool(
    path: string,
    originalName: string,
    size: number,
    head: Buffer,
  ): Promise<UploadedFile> {
    const sniffed = await sniffMime(head);
    return new UploadedFile(
      originalName,
      normalizeFileName(originalName, sniffed.ext),
      size,
      sniffed.mime,
      () => createReadStream(path),
      path,
    );
  }
}
