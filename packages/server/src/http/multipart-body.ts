import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Busboy } from "@fastify/busboy";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { UploadLimits } from "../api/upload-limits.js";
import { ApiError, badRequest, type ErrorData, fieldError } from "../errors/index.js";
import { SNIFF_BYTES, UploadedFile } from "../files/index.js";
import { FORBIDDEN_KEYS, randomString } from "../util/index.js";

/** How the multipart body parser is set up. */
export interface MultipartOptions {
  /** Folder for files being received (one sub-folder per request, removed when the request ends). */
  readonly spoolDir: string;
  /** The limits of a request. */
  readonly limitsFor: (request: FastifyRequest) => UploadLimits;
}

const MAX_PARTS = 1000;
const INVALID = "Failed to load the submitted data due to invalid formatting.";
const SPOOL = Symbol("uploadSpool");

type Spooled = FastifyRequest & { [SPOOL]?: string };

function tooLarge(): ApiError {
  return new ApiError(413, "Request entity too large.");
}

function fieldFail(limits: UploadLimits, key: string, data: ErrorData[string]): ApiError {
  return badRequest(limits.failMessage, { [key.replace(/^\+|[+-]$/g, "")]: data });
}

/** Reads one multipart body: text parts as values, file parts spooled to disk as UploadedFiles. */
async function readMultipart(
  request: FastifyRequest,
  payload: Readable,
  opts: MultipartOptions,
): Promise<Record<string, unknown>> {
  const limits = opts.limitsFor(request);
  const declared = Number(request.headers["content-length"] ?? 0);
  if (declared > limits.bodyLimit) throw tooLarge();
  const fields: Record<string, string[]> = {};
  const files: Record<string, (UploadedFile | null)[]> = {};
  const pending: Promise<void>[] = [];
  const counts = new Map<string, number>();
  let spool: Promise<string> | undefined;
  const spoolDir = () => {
    spool ??= (async () => {
      const dir = join(opts.spoolDir, randomString(16));
      await mkdir(dir, { recursive: true });
      (request as Spooled)[SPOOL] = dir;
      return dir;
    })();
    return spool;
  };
  return new Promise((resolve, reject) => {
    let failed = false;
    let received = 0;
    let bb: InstanceType<typeof Busboy>;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      payload.unpipe(bb);
      // the rest of the body is read and dropped (nothing more is parsed or written)
      payload.resume();
      reject(err);
      // parts still being written when the request failed are removed once they stop
      void Promise.allSettled(pending).then(async () => {
        if (spool) await rm(await spool, { recursive: true, force: true }).catch(() => {});
      });
    };
    try {
      bb = new Busboy({
        headers: request.headers as never,
        isPartAFile: (_name, _type, filename) => filename !== undefined && filename !== "",
        limits: {
          parts: MAX_PARTS,
          fieldSize: limits.bodyLimit,
          fieldNameSize: 200,
          headerPairs: 100,
        },
      });
    } catch {
      reject(badRequest(INVALID));
      return;
    }
    payload.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received > limits.bodyLimit) fail(tooLarge());
    });
    payload.on("error", fail);
    bb.on("partsLimit", () => fail(badRequest(`Too many multipart parts (at most ${MAX_PARTS}).`)));
    bb.on("field", (name: string, value: string, _nameTruncated: boolean, valueTruncated: boolean) => {
      if (failed || FORBIDDEN_KEYS.has(name)) return;
      if (valueTruncated) return fail(tooLarge());
      fields[name] = [...(fields[name] ?? []), value];
    });
    bb.on("file", (name: string, stream: Readable, filename: string) => {
      if (failed || FORBIDDEN_KEYS.has(name)) {
        stream.resume();
        return;
      }
      const fileLimits = limits.fileLimits(name);
      if (!fileLimits) {
        stream.resume();
        return fail(
          fieldFail(limits, name, {
            code: "validation_invalid_file_field",
            message: "This field does not accept file uploads.",
          }),
        );
      }
      const count = (counts.get(name) ?? 0) + 1;
      counts.set(name, count);
      if (count > fileLimits.maxFiles) {
        stream.resume();
        return fail(
          fieldFail(
            limits,
            name,
            fieldError("validation_too_many_values", `Select no more than ${fileLimits.maxFiles}.`, {
              maxSelect: fileLimits.maxFiles,
            }),
          ),
        );
      }
      // the part's place is kept now: spools finish in any order, the record keeps the parts' order
      files[name] = [...(files[name] ?? []), null];
      const slot = files[name].length - 1;
      pending.push(spoolFile(name, slot, filename, stream, fileLimits.maxSize));
    });
    const spoolFile = async (
      name: string,
      slot: number,
      filename: string,
      stream: Readable,
      maxSize: number,
    ) => {
      let size = 0;
      const head: Buffer[] = [];
      let headBytes = 0;
      // counts and samples the bytes as they pass, failing the part the moment it is over its limit
      const meter = new Transform({
        transform(chunk: Buffer, _enc, next) {
          size += chunk.length;
          if (size > maxSize) {
            const message = `Failed to upload ${filename} - the maximum allowed file size is ${maxSize} bytes.`;
            const error = fieldError("validation_file_size_limit", message, { file: filename, maxSize });
            return next(fieldFail(limits, name, error));
          }
          if (headBytes < SNIFF_BYTES) {
            head.push(chunk.subarray(0, SNIFF_BYTES - headBytes));
            headBytes += Math.min(chunk.length, SNIFF_BYTES - headBytes);
          }
          next(null, chunk);
        },
      });
      try {
        const path = join(await spoolDir(), randomString(16));
        await pipeline(stream, meter, createWriteStream(path, { flags: "wx" }));
        const file = await UploadedFile.fromSpool(path, filename, size, Buffer.concat(head));
        files[name][slot] = file;
      } catch (err) {
        stream.resume();
        fail(err instanceof ApiError ? err : badRequest(INVALID, {}, err));
      }
    };
    bb.on("error", (err: unknown) => fail(badRequest(INVALID, {}, err)));
    bb.on("finish", () => {
      Promise.all(pending).then(() => {
        if (failed) return;
        try {
          resolve(buildBody(fields, files));
        } catch (err) {
          fail(err);
        }
      }, fail);
    });
    payload.pipe(bb);
  });
}

/** Text values by key (repeated keys as lists), `@jsonPayload` merged over them, then the files. */
function buildBody(fields: Record<string, string[]>, files: Record<string, (UploadedFile | null)[]>) {
  const result: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields))
    if (k !== "@jsonPayload") result[k] = v.length === 1 ? v[0] : v;
  for (const payload of fields["@jsonPayload"] ?? []) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload, (key, value) => (FORBIDDEN_KEYS.has(key) ? undefined : value));
    } catch {
      throw badRequest(INVALID);
    }
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
      Object.assign(result, parsed);
  }
  for (const [k, list] of Object.entries(files)) {
    const existing = result[k];
    const before =
      existing === undefined || existing === "" ? [] : Array.isArray(existing) ? existing : [existing];
    result[k] = [...before, ...list.filter((f) => f !== null)];
  }
  return result;
}

/**
 * Accepts multipart/form-data bodies as PocketBase does: every text part becomes a key (repeated parts a
 * list), `@jsonPayload` holds JSON merged over them, and file parts become {@link UploadedFile}s under their
 * key. Files stream to a per-request spool folder with the route's limits checked as bytes arrive (413 for
 * the body, 400 for a file too large, too many, or sent to a key that takes none); the folder is removed
 * when the request ends, whatever happened.
 */
export function registerMultipartBody(server: FastifyInstance, opts: MultipartOptions): void {
  server.addContentTypeParser("multipart/form-data", (request: FastifyRequest, payload: Readable) =>
    readMultipart(request, payload, opts),
  );
  // The hooks run on every request; only one that spooled files has anything to wait for, so the others
  // answer at once instead of paying an async function and its promise each time.
  const cleanup = (request: FastifyRequest, done: (err?: Error) => void): void => {
    const dir = (request as Spooled)[SPOOL];
    if (!dir) {
      done();
      return;
    }
    (request as Spooled)[SPOOL] = undefined;
    rm(dir, { recursive: true, force: true }).then(
      () => done(),
      (err: unknown) => {
        request.log.warn({ err }, "upload spool cleanup failed");
        done();
      },
    );
  };
  // before the answer leaves, so a client never sees a finished request with its spool still on disk
  server.addHook("onSend", (request, _reply, payload, done) => {
    cleanup(request, () => done(null, payload));
  });
  server.addHook("onResponse", (request, _reply, done) => cleanup(request, done));
  server.addHook("onRequestAbort", (request, done) => cleanup(request, done));
}
