import { type Readable, Transform } from "node:stream";
import type { S3Client } from "@aws-sdk/client-s3";
import { lazyImport } from "../util/index.js";
import {
  type ByteRange,
  checkKey,
  type PutOptions,
  type Storage,
  type StoredFile,
  type StoredFileInfo,
} from "./storage.js";

// The AWS SDK is loaded when S3 is first used, not at start-up (issue 19: about 25 MB of RSS)
const loadS3 = lazyImport("@aws-sdk/client-s3", "S3 storage", () => import("@aws-sdk/client-s3"));
const loadUpload = lazyImport("@aws-sdk/lib-storage", "S3 uploads", () => import("@aws-sdk/lib-storage"));

/** PocketBase's `s3` settings. */
export interface S3Config {
  enabled: boolean;
  bucket: string;
  region: string;
  endpoint: string;
  accessKey: string;
  secret: string;
  forcePathStyle: boolean;
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "NoSuchKey" || e?.name === "NotFound" || e?.$metadata?.httpStatusCode === 404;
}

/** The total size from a `Content-Range: bytes a-b/total` answer. */
function totalOf(contentRange: string | undefined, fallback: number): number {
  const m = /\/(\d+)$/.exec(contentRange ?? "");
  return m ? Number(m[1]) : fallback;
}

/** Passes only the bytes of an inclusive range of what flows through it. */
function byteSlice(range: ByteRange): Transform {
  let offset = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, next) {
      const from = Math.max(range.start - offset, 0);
      const to = Math.min(range.end + 1 - offset, chunk.length);
      offset += chunk.length;
      next(null, from < to ? chunk.subarray(from, to) : undefined);
    },
  });
}

/**
 * Objects in an S3-compatible bucket (AWS, MinIO, R2, s3rver…), keyed exactly as the local driver lays out its
 * folders, so every instance sharing the bucket serves every file. Uploads stream through multipart uploads
 * (8 MiB parts, two in flight), so a large file never sits in memory whole.
 */
export class S3Storage implements Storage {
  /** The client, made with the SDK on first use. */
  private client: S3Client | null = null;

  constructor(private readonly config: S3Config) {}

  /** The SDK and this storage's client (made on the first call). */
  private async sdk(): Promise<{ s3: typeof import("@aws-sdk/client-s3"); client: S3Client }> {
    const s3 = await loadS3();
    this.client ??= new s3.S3Client({
      region: this.config.region || "us-east-1",
      endpoint: this.config.endpoint || undefined,
      forcePathStyle: this.config.forcePathStyle,
      credentials: { accessKeyId: this.config.accessKey, secretAccessKey: this.config.secret },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    return { s3, client: this.client };
  }

  async put(key: string, body: Readable, opts: PutOptions): Promise<void> {
    checkKey(key);
    try {
      const [{ client }, { Upload }] = await Promise.all([this.sdk(), loadUpload()]);
      const upload = new Upload({
        client,
        params: { Bucket: this.config.bucket, Key: key, Body: body, ContentType: opts.contentType },
        partSize: 8 << 20,
        queueSize: 2,
        leavePartsOnError: false,
      });
      await upload.done();
    } catch (err) {
      body.destroy();
      throw err;
    }
  }

  async get(key: string, range?: ByteRange): Promise<StoredFile | null> {
    checkKey(key);
    const { s3, client } = await this.sdk();
    try {
      const out = await client.send(
        new s3.GetObjectCommand({
          Bucket: this.config.bucket,
          Key: key,
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      );
      const length = Number(out.ContentLength ?? 0);
      const body = out.Body as Readable;
      // a server that sent more than the asked range (s3rver does for `bytes=0-0`) is cut to it here
      const sentFrom = Number(/bytes (\d+)-/.exec(out.ContentRange ?? "")?.[1] ?? 0);
      const stream =
        range && length !== range.end - range.start + 1
          ? body.pipe(byteSlice({ start: range.start - sentFrom, end: range.end - sentFrom }))
          : body;
      return {
        info: {
          size: totalOf(out.ContentRange, length),
          modified: out.LastModified ?? new Date(0),
          contentType: out.ContentType ?? "application/octet-stream",
        },
        stream,
      };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async stat(key: string): Promise<StoredFileInfo | null> {
    checkKey(key);
    const { s3, client } = await this.sdk();
    try {
      const out = await client.send(new s3.HeadObjectCommand({ Bucket: this.config.bucket, Key: key }));
      return {
        size: Number(out.ContentLength ?? 0),
        modified: out.LastModified ?? new Date(0),
        contentType: out.ContentType ?? "application/octet-stream",
      };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== null;
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    const { s3, client } = await this.sdk();
    try {
      await client.send(new s3.DeleteObjectCommand({ Bucket: this.config.bucket, Key: key }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!prefix.endsWith("/") || prefix === "/") throw new Error("a prefix to delete must be a folder");
    checkKey(prefix, { prefix: true });
    const { s3, client } = await this.sdk();
    let batch: string[] = [];
    const flush = async () => {
      if (!batch.length) return;
      const objects = batch.map((Key) => ({ Key }));
      batch = [];
      await client.send(
        new s3.DeleteObjectsCommand({
          Bucket: this.config.bucket,
          Delete: { Objects: objects, Quiet: true },
        }),
      );
    };
    for await (const key of this.list(prefix)) {
      batch.push(key);
      if (batch.length === 1000) await flush();
    }
    await flush();
  }

  async *list(prefix: string): AsyncIterable<string> {
    checkKey(prefix, { prefix: true });
    const { s3, client } = await this.sdk();
    let token: string | undefined;
    do {
      const out = await client.send(
        new s3.ListObjectsV2Command({
          Bucket: this.config.bucket,
          Prefix: prefix || undefined,
          ContinuationToken: token,
        }),
      );
      for (const o of out.Contents ?? []) if (o.Key) yield o.Key;
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  async close(): Promise<void> {
    // a storage never used made no client (and loads no SDK to close it)
    this.client?.destroy();
    this.client = null;
  }
}
