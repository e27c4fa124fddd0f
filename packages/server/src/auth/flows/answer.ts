import type { App } from "../../core/app.js";
import type { AuthCollection } from "../../core/collections/index.js";
import type { RecordRequest, RecordRow } from "../../core/records/index.js";
import type { RequestAuth } from "../auth-service.js";
import type { AuthMethod } from "../mfa-service.js";
import { superuserIpAllowed, superuserIpRefused } from "../superuser-ips.js";

/** What a sign-in answered: its status and body (PocketBase's), and the signed-in caller on success. */
export interface AuthAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly auth?: RequestAuth;
}

/** How a sign-in finishes: the method used (for MFA; "" skips it), a ready token, provider meta. */
export interface AuthFinish {
  readonly method: AuthMethod | "";
  /** A token to return instead of a new refreshable one (refresh, impersonation). */
  readonly token?: string;
  readonly meta?: Record<string, unknown>;
}

/**
 * Who signs in, as the flows need it: the request (rules, `@request.*`), the MFA id sent, the `expand` asked,
 * and the client's address.
 */
export interface AuthCaller {
  readonly request: RecordRequest;
  readonly mfaId: string;
  readonly expand?: string;
  /**
   * The client's address (trusted proxies applied), checked against `superuserIPs` when a superuser signs in
   * and keying the fixed attempt guards. Undefined for the application's own code, which is trusted.
   */
  readonly ip?: string;
}

/** A caller for the application's own code: no request auth, no address, default rule context. */
export function codeCaller(opts: { mfaId?: string; expand?: string; ip?: string } = {}): AuthCaller {
  return {
    request: { auth: null, headers: {}, method: "POST", query: {}, context: "default" },
    mfaId: opts.mfaId ?? "",
    expand: opts.expand,
    ip: opts.ip,
  };
}

/** Whether MFA applies to this record: enabled, and the MFA rule ("" = everyone) selects it. */
async function wantsMfa(app: App, request: RecordRequest, collection: AuthCollection, record: RecordRow) {
  if (!collection.mfa.enabled) return false;
  if (!collection.mfa.rule) return true;
  // Any failure to evaluate the rule asks for the second factor, the safer default (as PocketBase does).
  return app.recordMatchesRule(collection, record, collection.mfa.rule, request).catch(() => true);
}

/**
 * PocketBase's auth answer for a record that passed a sign-in method: checks the collection's `authRule`,
 * runs MFA (a first factor gets 401 `{mfaId}`; the second, different method completes it), then answers
 * `{token, record, meta?}` with the record as its owner sees it (hidden fields for a superuser), through
 * `onRecordAuthRequest`. Every sign-in (REST, GraphQL, code) finishes here.
 */
export async function authAnswer(
  app: App,
  caller: AuthCaller,
  collection: AuthCollection,
  record: RecordRow,
  finish: AuthFinish,
): Promise<AuthAnswer> {
  // PocketBase refuses a superuser's sign-in (any method, refresh included) from outside superuserIPs
  if (collection.name === "_superusers" && caller.ip !== undefined && !superuserIpAllowed(app, caller.ip)) {
    throw superuserIpRefused();
  }
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
