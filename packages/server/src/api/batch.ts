import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";
import { ApiError, badRequest, fieldError, forbidden } from "../errors/index.js";
import { isPlainObject } from "../util/index.js";
import { BATCH_ITEM_PATTERNS, checkRateLimit } from "./rate-limit.js";
import { flatQuery, type RecordAction, runRecordAction } from "./records-action.js";
import { callerOf } from "./records-crud.js";

/** PocketBase's default batch body limit when `batch.maxBodySize` is 0 (128 MiB, capped by the server's). */
const DEFAULT_MAX_BODY = 128 << 20;

const ACTIONS: { re: RegExp; method: string; kind: RecordAction["kind"] }[] = [
  { method: "PUT", re: /^\/api\/collections\/([^/?]+)\/records(\?.*)?$/, kind: "upsert" },
  { method: "POST", re: /^\/api\/collections\/([^/?]+)\/records(\?.*)?$/, kind: "create" },
  { method: "PATCH", re: /^\/api\/collections\/([^/?]+)\/records\/([^/?]+)(\?.*)?$/, kind: "update" },
  { method: "DELETE", re: /^\/api\/collections\/([^/?]+)\/records\/([^/?]+)(\?.*)?$/, kind: "delete" },
];

/** Maps one batch item to a records action, or null when PocketBase would not run it. */
function toAction(item: unknown): RecordAction | null {
  if (!isPlainObject(item) || typeof item.method !== "string" || typeof item.url !== "string") return null;
  const method = item.method.toUpperCase();
  for (const a of ACTIONS) {
    if (a.method !== method) continue;
    const m = a.re.exec(item.url);
    if (!m) continue;
    const search = new URLSearchParams(
      (m[a.kind === "update" || a.kind === "delete" ? 3 : 2] ?? "").slice(1),
    );
    const query = flatQuery(Object.fromEntries(search));
    return {
      kind: a.kind,
      collection: decodeURIComponent(m[1]),
      id: a.kind === "update" || a.kind === "delete" ? decodeURIComponent(m[2]) : undefined,
      query,
      body: item.body ?? {},
    };
  }
  return null;
}

/**
 * The batch items of a body, with the files of a multipart batch (sent as `requests.N.<field>`, the JSON
 * under `@jsonPayload`) moved into their item's body.
 */
function withBatchFiles(body: Record<string, unknown>): unknown {
  const list = body.requests;
  if (!Array.isArray(list)) return list;
  for (const [key, value] of Object.entries(body)) {
    const m = /^requests\.(\d+)\.(.+)$/.exec(key);
    if (!m) continue;
    const item = list[Number(m[1])];
    if (!isPlainObject(item)) throw badRequest("Failed to read the submitted batch data.");
    if (!isPlainObject(item.body)) item.body = {};
    const target = item.body as Record<string, unknown>;
    const before = target[m[2]];
    const files = Array.isArray(value) ? value : [value];
    target[m[2]] =
      before === undefined || before === ""
        ? files
        : [...(Array.isArray(before) ? before : [before]), ...files];
  }
  return list;
}

function failedAt(index: number, err: unknown): ApiError {
  const response = err instanceof ApiError ? err.toJSON() : new ApiError(400, undefined, {}, err).toJSON();
  return badRequest("Batch transaction failed.", {
    requests: {
      [String(index)]: { code: "batch_request_failed", message: "Batch request failed.", response } as never,
    },
  });
}

/**
 * `POST /api/batch`: create/update/upsert/delete records requests run in one transaction, each with its own
 * rule checks (`@request.context = "batch"`); all or nothing; off unless enabled in the settings.
 */
export function registerBatch(server: FastifyInstance, app: App): void {
  server.post("/api/batch", async (request, reply) => {
    const settings = app.settings.batch;
    if (!settings.enabled || settings.maxRequests <= 0) throw forbidden("Batch requests are not allowed.");
    const maxBody = settings.maxBodySize > 0 ? settings.maxBodySize : DEFAULT_MAX_BODY;
    if (Number(request.headers["content-length"] ?? 0) > maxBody) throw new ApiError(413);
    const body = request.body;
    if (!isPlainObject(body)) throw badRequest("Failed to read the submitted batch data.");
    const list = withBatchFiles(body);
    if (list !== undefined && list !== null && !Array.isArray(list)) {
      throw badRequest("Failed to read the submitted batch data.");
    }
    if (!Array.isArray(list) || list.length === 0) {
      throw badRequest("Invalid batch request data.", {
        requests: fieldError("validation_required", "Cannot be blank."),
      });
    }
    if (list.length > settings.maxRequests) {
      throw badRequest("Invalid batch request data.", {
        requests: fieldError(
          "validation_length_too_long",
          `The length must be no more than ${settings.maxRequests}.`,
          { max: settings.maxRequests },
        ),
      });
    }
    const deadline = Date.now() + (settings.timeout > 0 ? settings.timeout : 3) * 1000;
    // one expanded-records budget for the whole batch (issue 10)
    const caller = { ...callerOf(request, "batch"), expandBudget: app.records.expandBudget() };
    const results = await app.records.transaction(async (records) => {
      const out: { body: unknown; status: number }[] = [];
      for (let i = 0; i < list.length; i++) {
        if (Date.now() > deadline) throw badRequest("Batch transaction failed.");
        const action = toAction(list[i]);
        if (!action) throw failedAt(i, badRequest("Unknown batch request action."));
        try {
          const method = String((list[i] as { method: string }).method).toUpperCase();
          // each item counts under its collection's rate-limit labels, as a request of its own would
          const collection = app.collections.find(action.collection);
          if (collection && action.kind in BATCH_ITEM_PATTERNS) {
            const kind = action.kind as keyof typeof BATCH_ITEM_PATTERNS;
            await checkRateLimit(app, request, reply, {
              collection,
              tags: [kind === "upsert" ? "create" : kind],
              pattern: BATCH_ITEM_PATTERNS[kind],
              method,
              path: String((list[i] as { url: string }).url).split("?", 1)[0],
            });
          }
          const r = await runRecordAction(app, records, action, { ...caller, method });
          out.push({ body: r.body, status: r.status });
        } catch (err) {
          if (err instanceof ApiError && err.status >= 500) throw err;
          throw failedAt(i, err);
        }
      }
      return out;
    });
    return reply.send(results);
  });
}
