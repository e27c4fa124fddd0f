import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { App } from "../core/app.js";
import type { Field } from "../core/fields/index.js";
import { fieldValueToJSON, findRow, type RecordRow } from "../core/records/index.js";
import { ApiError, notFound, unauthorized } from "../errors/index.js";
import {
  fileHeaders,
  notModified,
  recordFileKey,
  requestedRange,
  type StoredFileInfo,
  thumbSpec,
  thumbsPrefix,
} from "../files/index.js";
import { flatQuery } from "./records-action.js";
import { superuserRequestAllowed } from "./superuser-ips.js";

type Params = { collection: string; recordId: string; filename: string };

/** The file field of a record that holds `filename`, or undefined. */
function fieldHolding(fields: readonly Field[], row: RecordRow, filename: string): Field | undefined {
  for (const f of fields) {
    if (f.type !== "file") continue;
    const value = fieldValueToJSON(f, row[f.name]);
    if (Array.isArray(value) ? value.includes(filename) : value === filename) return f;
  }
  return undefined;
}

/**
 * The key of the asked thumbnail (rendered on first request) when the field declares that size (or it is the
 * default 100x100) and the file is an image; otherwise the original's key, as PocketBase does.
 */
async function thumbOrOriginal(
  app: App,
  key: string,
  prefix: string,
  field: Field,
  size: string,
  filename: string,
): Promise<string> {
  const info = await app.files.storage.stat(key);
  if (!info) return key;
  const spec = thumbSpec(size, info.contentType, field.thumbs as string[] | null);
  if (!spec) return key;
  const thumbKey = `${prefix}${size}_${filename}`;
  return (await app.files.thumbs.ensure(app.files.storage, key, thumbKey, spec)) ? thumbKey : key;
}

/** Go's strconv.ParseBool truthy values, as PocketBase reads `?download=`. */
function isTruthy(value: string | undefined): boolean {
  return value !== undefined && ["1", "t", "T", "true", "TRUE", "True"].includes(value);
}

/**
 * `GET /api/files/{collection}/{recordId}/{filename}` (downloads with Range, validators and PocketBase's
 * caching; protected files with a file token) and `POST /api/files/token`.
 */
export function registerFiles(server: FastifyInstance, app: App): void {
  server.post("/api/files/token", async (request, reply) => {
    const auth = request.auth;
    if (!auth) throw unauthorized("Missing auth context.");
    return reply.send({ token: app.auth.newToken(auth.collection, auth.record, "file") });
  });

  server.get<{ Params: Params }>("/api/files/:collection/:recordId/:filename", async (request, reply) => {
    const { collection: idOrName, recordId, filename } = request.params;
    const query = flatQuery(request.query);
    const collection = app.collections.find(idOrName);
    if (!collection) throw notFound();
    const row = await findRow(app.db, collection, recordId);
    if (!row) throw notFound();
    const field = fieldHolding(collection.fields, row, filename);
    if (!field) throw notFound();
    if (field.protected) {
      let auth = query.token ? await app.auth.verify(query.token, "file") : null;
      // a superuser's file token from outside superuserIPs counts as no token (as in PocketBase)
      if (auth?.isSuperuser && !superuserRequestAllowed(app, request)) auth = null;
      const req = { auth, query, headers: request.headers, method: "GET", context: "protectedFile" };
      if (!(await app.recordMatchesRule(collection, row, collection.viewRule, req))) {
        throw notFound(undefined, new Error("insufficient permissions to access the file resource"));
      }
    }
    let key = recordFileKey(collection.id, String(row.id), filename);
    if (query.thumb)
      key = await thumbOrOriginal(
        app,
        key,
        thumbsPrefix(collection.id, String(row.id), filename),
        field,
        query.thumb,
        filename,
      );
    return sendStored(app, request, reply, key, filename, {
      download: isTruthy(query.download),
      protected: field.protected === true,
    });
  });
}

/** Streams a stored object with its headers, answering 304, 206 and 416 as the request asks. */
async function sendStored(
  app: App,
  request: FastifyRequest,
  reply: FastifyReply,
  key: string,
  name: string,
  opts: { download: boolean; protected: boolean },
) {
  const info: StoredFileInfo | null = await app.files.storage.stat(key);
  if (!info) throw notFound();
  reply.headers(fileHeaders(name, info, opts));
  if (notModified(request.headers, info)) return reply.status(304).send();
  const range = requestedRange(request.headers, info);
  if (range === "unsatisfiable") {
    reply.header("content-range", `bytes */${info.size}`);
    throw new ApiError(416, "Requested range not satisfiable.");
  }
  const file = await app.files.storage.get(key, range ?? undefined);
  if (!file) throw notFound();
  if (range) {
    reply.status(206);
    reply.header("content-range", `bytes ${range.start}-${range.end}/${info.size}`);
    reply.header("content-length", range.end - range.start + 1);
  } else reply.header("content-length", info.size);
  return reply.send(file.stream);
}
