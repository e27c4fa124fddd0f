import type { FastifyReply, FastifyRequest } from "fastify";
import type { AuthMethod, RequestAuth } from "../auth/index.js";
import type { App } from "../core/app.js";
import type { AuthCollection } from "../core/collections/index.js";
import type { RecordRequest, RecordRow } from "../core/records/index.js";
import type { AuthAnswer } from "../graphql/index.js";
import { bodyObject } from "./guards.js";
import { clientIp } from "./rate-limit.js";
import { recordRequestOf } from "./records-auth-helpers.js";
import { superuserIpAllowed, superuserIpRefused } from "./superuser-ips.js";

/** How a sign-in finishes: the method used (for MFA; "" skips it), a ready token, provider meta. */
export interface AuthFinish {
  readonly method: AuthMethod | "";
  /** A token to return instead of a new refreshable one (refresh, impersonation). */
  readonly token?: string;
  readonly meta?: Record<string, unknown>;
}

/** The MFA id a sign-in request carries (query or body). */
export function mfaIdOf(request: FastifyRequest): string {
  const q = request.query as Record<string, unknown> | undefined;
  const fromQuery = q && typeof q.mfaId === "string" ? q.mfaId : "";
  if (fromQuery) return fromQuery;
  const fromBody = bodyObject(request).mfaId;
  return typeof fromBody === "string" ? fromBody : "";
}

/** Whether MFA applies to this record: enabled, and the MFA rule ("" = everyone) selects it. */
async function wantsMfa(app: App, request: RecordRequest, collection: AuthCollection, record: RecordRow) {
  if (!collection.mfa.enabled) return false;
  if (!collection.mfa.rule) return true;
  // Any failure to evaluate the rule asks for the second factor, the safer default (as PocketBase does).
  return app.recordMatchesRule(collection, record, collection.mfa.rule, request).catch(() => true);
}

/** Who signs in, as the sign-in answer needs it: the request (rules), the MFA id sent, the `expand` asked. */
export interface AuthCaller {
  readonly request: RecordRequest;
  readonly mfaId: string;
  readonly expand?: string;
  /** The client's address ({@link clientIp}), checked against `superuserIPs` when a superuser signs in. */
  readonly ip: string;
}

/**
 * PocketBase's auth answer for a record that passed a sign-in method: checks the collection's `authRule`,
 * runs MFA (a first factor gets 401 `{mfaId}`; the second, different method completes it), then answers
 * `{token, record, meta?}` with the record as its owner sees it (hidden fields for a superuser). REST and
 * GraphQL both sign in through it.
 */
export async function authAnswer(
  app: App,
  caller: AuthCaller,
  collection: AuthCollection,
  record: RecordRow,
  finish: AuthFinish,
): Promise<AuthAnswer> {
  // PocketBase refuses a superuser's sign-in (any method, refresh included) from outside superuserIPs
  if (collection.name === "_superusers" && !superuserIpAllowed(app, caller.ip)) throw superuserIpRefused();
  await app.checkAuthRule(collection, record, { ...caller.request, context: finish.method || "default" });
  if (finish.method && (await wantsMfa(app, caller.request, collection, record))) {
    if (!caller.mfaId) {
      const id = await app.auth.mfa.start(collection, record, finish.method);
      return { status: 401, body: { mfaId: id } };
    }
    await app.auth.mfa.complete(collection, record, finish.method, caller.mfaId);
  }
  const token = finish.token ?? app.auth.newToken(collection, record, "auth");
  const self: RequestAuth = {
    collection,
    record,
    claims: { id: String(record.id), type: "auth", collectionId: collection.id, exp: 0 },
    isSuperuser: collection.name === "_superusers",
  };
  const e = { collection, record, token, authMethod: finish.method || "token", meta: finish.meta };
  let answer: AuthAnswer = { status: 204, body: {} };
  await app.hooks.onRecordAuthRequest.trigger(e, async () => {
    const [json] = await app.records.enrich(
      collection,
      [record],
      { ...caller.request, auth: self },
      { expand: caller.expand },
    );
    const out: Record<string, unknown> = { token, record: json };
    if (e.meta) out.meta = e.meta;
    answer = { status: 200, body: out, auth: self };
  });
  return answer;
}

/** Sends {@link authAnswer} for an HTTP sign-in request. */
export async function sendAuthResponse(
  app: App,
  request: FastifyRequest,
  reply: FastifyReply,
  collection: AuthCollection,
  record: RecordRow,
  finish: AuthFinish,
): Promise<FastifyReply> {
  const query = request.query as Record<string, unknown> | undefined;
  const expand = typeof query?.expand === "string" ? query.expand : undefined;
  const answer = await authAnswer(
    app,
    { request: recordRequestOf(request), mfaId: mfaIdOf(request), expand, ip: clientIp(app, request) },
    collection,
    record,
    finish,
  );
  return reply.status(answer.status).send(answer.body);
}
