import type { Logger } from "pino";
import type { CollectionsService } from "../core/collections/index.js";
import type { AppHooks, EventBus, RecordEvent } from "../core/events.js";
import {
  type RecordRow,
  type RecordsService,
  rowMatchesRule,
  serializeRecord,
} from "../core/records/index.js";
import { isSealed, type SecretBox } from "../core/secrets/index.js";
import type { Database, Queryable } from "../db/index.js";
import type { JobContext, JobsService } from "../jobs/index.js";
import { NO_TRACER, newRecordId, nowDateTime, type SpanTracer } from "../util/index.js";
import { type AllowedTargets, BlockedTargetError, safePost } from "./safe-fetch.js";
import { newWebhookSecret, standardWebhookHeaders } from "./signatures.js";
import { readWebhookInput, type WebhookEvent, type WebhookInput } from "./webhook-input.js";
import { DELIVERIES_TABLE, ensureWebhookTables, WEBHOOKS_TABLE } from "./webhooks-table.js";

/** The queue webhook deliveries go through. */
export const WEBHOOK_QUEUE = "_webhooks";

/** A configured webhook; the API shows the secret only when it is made (create, rotate). */
export interface Webhook extends WebhookInput {
  id: string;
  /** The Standard Webhooks signing secret (`whsec_…`). */
  secret: string;
  created: string;
  updated: string;
}

/** One message to a webhook and the outcome of its latest attempt. */
export interface WebhookDelivery {
  id: string;
  webhook: string;
  type: string;
  /** `pending`, `retrying`, `success` or `failed`. */
  status: string;
  attempts: number;
  responseStatus: number;
  latencyMs: number;
  responseExcerpt: string;
  error: string;
  payload: unknown;
  created: string;
  updated: string;
}

/** What the webhooks service is built from. */
export interface WebhooksDeps {
  db: Database;
  log: Logger;
  jobs: JobsService;
  collections: CollectionsService;
  records: RecordsService;
  events: EventBus;
  /** Non-public address kinds targets may resolve to (tests allow loopback). */
  allowedTargets: AllowedTargets;
  /** For one attempt, redirects included (ms). */
  timeoutMs: number;
  /** Traces each delivery as an outbound HTTP span and sends its `traceparent` (none when omitted). */
  tracer?: SpanTracer;
  /** The sign-in hook, for `auth` events (none when omitted). */
  authHook?: AppHooks["onRecordAuthRequest"];
  /** Seals the signing secrets at rest and opens them to sign (stored as given when omitted). */
  secrets?: SecretBox;
}

/** The sign-in methods an `auth` webhook event reports. */
const SIGN_IN_METHODS = new Set(["password", "otp", "oauth2"]);

/** A record event, or a completed sign-in, as a webhook sends it. */
interface HookedEvent {
  readonly action: WebhookEvent;
  readonly collection: RecordEvent["collection"];
  readonly record: RecordRow;
  readonly authMethod?: string;
}

const ATTEMPTS = 6;
const EXCERPT = 1024;
const MAX_RESPONSE = 64 * 1024;
const CACHE_MS = 5000;
const T = WEBHOOKS_TABLE;
const D = DELIVERIES_TABLE;

interface WebhookRow {
  id: string;
  name: string;
  url: string;
  secret: string;
  collections: string;
  events: string;
  filter: string;
  fields: string;
  active: number | boolean;
  created: string;
  updated: string;
}

function json<T>(v: unknown, fallback: T): T {
  if (typeof v !== "string") return (v as T) ?? fallback;
  try {
    return JSON.parse(v) as T;
  } catch {
    return fallback;
  }
}

function toWebhook(r: WebhookRow, open: (stored: string) => string): Webhook {
  return {
    id: r.id,
    name: r.name,
    url: r.url,
    secret: open(r.secret),
    collections: json(r.collections, []),
    events: json(r.events, []),
    filter: r.filter,
    fields: json(r.fields, []),
    active: r.active === true || r.active === 1,
    created: r.created,
    updated: r.updated,
  };
}

function toDelivery(r: Record<string, unknown>): WebhookDelivery {
  const iso = (ms: unknown) => new Date(Number(ms)).toISOString().replace("T", " ");
  return {
    id: String(r.id),
    webhook: String(r.webhook),
    type: String(r.type),
    status: String(r.status),
    attempts: Number(r.attempts),
    responseStatus: Number(r.response_status),
    latencyMs: Number(r.latency_ms),
    responseExcerpt: String(r.response_excerpt),
    error: String(r.error),
    payload: json(r.body, null),
    created: iso(r.created),
    updated: iso(r.updated),
  };
}

/**
 * Outbound webhooks: superusers configure targets for record events of chosen collections (optionally a
 * rule selecting records and the fields to send). Each committed event that matches becomes a delivery row
 * and a job; the job POSTs the JSON signed per Standard Webhooks, with SSRF checks, a timeout and a response
 * cap, retries with backoff on failure, and records each attempt's outcome on the delivery.
 */
export class WebhooksService {
  private cache: { at: number; hooks: Webhook[] } | null = null;
  /** Outcomes of delivery attempts in this process (metrics). */
  readonly outcomes = { delivered: 0, failed: 0, retried: 0, blocked: 0 };

  constructor(private readonly d: WebhooksDeps) {}

  private readonly open = (stored: string): string => this.d.secrets?.open(stored) ?? stored;
  private readonly seal = (plain: string): string => this.d.secrets?.seal(plain) ?? plain;

  /** Creates the tables, starts delivering in this process and listens to committed record events. */
  async init(): Promise<void> {
    await ensureWebhookTables(this.d.db);
    this.d.jobs.handle<{ delivery: string }>(WEBHOOK_QUEUE, (job) => this.deliver(job), {
      concurrency: 4,
      timeout: this.d.timeoutMs + 5000,
      backoff: { baseMs: 1000, maxMs: 3_600_000 },
    });
    this.d.events.on("record", (e) => {
      this.onRecord(e).catch((err: unknown) => this.d.log.error({ err }, "queuing webhooks failed"));
    });
    const auth = this.d.authHook;
    if (auth) {
      // The innermost handler sees the answer built; the outermost queues once the whole chain succeeded
      // (a handler that throws, or answers without going on, leaves no sign-in to report).
      const completed = new WeakSet<object>();
      auth.bind(
        async (e) => {
          await e.next();
          completed.add(e);
        },
        { id: "basalt:webhooks:auth-completed", priority: Number.MAX_SAFE_INTEGER },
      );
      auth.bind(
        async (e) => {
          await e.next();
          if (!completed.has(e) || !SIGN_IN_METHODS.has(e.authMethod)) return;
          const event = {
            action: "auth" as const,
            collection: e.collection,
            record: e.record,
            authMethod: e.authMethod,
          };
          this.onRecord(event).catch((err: unknown) => this.d.log.error({ err }, "queuing webhooks failed"));
        },
        { id: "basalt:webhooks:auth", priority: Number.MIN_SAFE_INTEGER },
      );
    }
  }

  private async active(): Promise<Webhook[]> {
    if (!this.cache || Date.now() - this.cache.at > CACHE_MS) {
      const rows = await this.d.db.all<WebhookRow>(`SELECT * FROM ${T} ORDER BY created, id`);
      this.cache = {
        at: Date.now(),
        hooks: rows.filter((r) => r.active === true || r.active === 1).map((r) => toWebhook(r, this.open)),
      };
    }
    return this.cache.hooks;
  }

  /** Every webhook, oldest first. */
  async list(): Promise<Webhook[]> {
    const rows = await this.d.db.all<WebhookRow>(`SELECT * FROM ${T} ORDER BY created, id`);
    return rows.map((r) => toWebhook(r, this.open));
  }

  /** One webhook, or undefined. */
  async get(id: string): Promise<Webhook | undefined> {
    const row = await this.d.db.get<WebhookRow>(`SELECT * FROM ${T} WHERE id = ?`, [id]);
    return row && toWebhook(row, this.open);
  }

  /** Creates a webhook from a request body (400 on invalid input); a signing secret is generated. */
  async create(body: Record<string, unknown>): Promise<Webhook> {
    const input = readWebhookInput(body, null, this.d.collections);
    const now = nowDateTime();
    const hook: Webhook = {
      ...input,
      id: newRecordId(),
      secret: newWebhookSecret(),
      created: now,
      updated: now,
    };
    await this.d.db.run(
      `INSERT INTO ${T} (id, name, url, secret, collections, events, filter, fields, active, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        hook.id,
        hook.name,
        hook.url,
        this.seal(hook.secret),
        JSON.stringify(hook.collections),
        JSON.stringify(hook.events),
        hook.filter,
        JSON.stringify(hook.fields),
        hook.active,
        now,
        now,
      ],
    );
    this.cache = null;
    return hook;
  }

  /** Updates a webhook's settable fields; undefined when it does not exist. */
  async update(id: string, body: Record<string, unknown>): Promise<Webhook | undefined> {
    const current = await this.get(id);
    if (!current) return undefined;
    const input = readWebhookInput(body, current, this.d.collections);
    const updated = nowDateTime();
    await this.d.db.run(
      `UPDATE ${T} SET name = ?, url = ?, collections = ?, events = ?, filter = ?, fields = ?, active = ?, updated = ? WHERE id = ?`,
      [
        input.name,
        input.url,
        JSON.stringify(input.collections),
        JSON.stringify(input.events),
        input.filter,
        JSON.stringify(input.fields),
        input.active,
        updated,
        id,
      ],
    );
    this.cache = null;
    return { ...current, ...input, updated };
  }

  /** Gives a webhook a new signing secret (the old one stops signing at once); undefined when it does not exist. */
  async rotateSecret(id: string): Promise<Webhook | undefined> {
    const current = await this.get(id);
    if (!current) return undefined;
    const secret = newWebhookSecret();
    const updated = nowDateTime();
    await this.d.db.run(`UPDATE ${T} SET secret = ?, updated = ? WHERE id = ?`, [
      this.seal(secret),
      updated,
      id,
    ]);
    this.cache = null;
    return { ...current, secret, updated };
  }

  /**
   * At start (issue 18): with a key, seals the signing secrets still stored as plaintext (and opens the sealed
   * ones, so a wrong key is told now); without one, refuses sealed secrets with the coded error. Returns how
   * many were sealed. Run it in the start-up's locked transaction.
   */
  async sealStoredSecrets(tx: Queryable): Promise<number> {
    const rows = await tx.all<{ id: string; secret: string }>(`SELECT id, secret FROM ${T}`);
    let sealed = 0;
    for (const row of rows) {
      if (isSealed(row.secret)) {
        this.open(row.secret);
        continue;
      }
      if (!this.d.secrets?.enabled || row.secret === "") continue;
      await tx.run(`UPDATE ${T} SET secret = ? WHERE id = ?`, [this.seal(row.secret), row.id]);
      sealed++;
    }
    return sealed;
  }

  /** Deletes a webhook and its delivery log; false when it does not exist. */
  async delete(id: string): Promise<boolean> {
    const { changes } = await this.d.db.transaction(async (tx) => {
      await tx.run(`DELETE FROM ${D} WHERE webhook = ?`, [id]);
      return tx.run(`DELETE FROM ${T} WHERE id = ?`, [id]);
    });
    this.cache = null;
    return changes > 0;
  }

  /** A page of a webhook's deliveries, newest first. */
  async deliveries(webhook: string, page: number, perPage: number) {
    const items = await this.d.db.all<Record<string, unknown>>(
      `SELECT * FROM ${D} WHERE webhook = ? ORDER BY created DESC, id DESC LIMIT ? OFFSET ?`,
      [webhook, perPage, (page - 1) * perPage],
    );
    const count = await this.d.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${D} WHERE webhook = ?`, [
      webhook,
    ]);
    const total = Number(count?.n ?? 0);
    return {
      page,
      perPage,
      totalItems: total,
      totalPages: Math.ceil(total / perPage),
      items: items.map(toDelivery),
    };
  }

  /** One delivery, or undefined. */
  async delivery(id: string): Promise<WebhookDelivery | undefined> {
    const row = await this.d.db.get<Record<string, unknown>>(`SELECT * FROM ${D} WHERE id = ?`, [id]);
    return row && toDelivery(row);
  }

  /** Sends a delivery again (same message id and body, fresh attempts); false when it does not exist. */
  async replay(id: string): Promise<boolean> {
    return this.d.db.transaction(async (tx) => {
      const { changes } = await tx.run(`UPDATE ${D} SET status = 'pending', updated = ? WHERE id = ?`, [
        Date.now(),
        id,
      ]);
      if (!changes) return false;
      await this.d.jobs.enqueue(WEBHOOK_QUEUE, { delivery: id }, { maxAttempts: ATTEMPTS, tx });
      return true;
    });
  }

  private async onRecord(e: HookedEvent): Promise<void> {
    const hooks = (await this.active()).filter(
      (h) => h.collections.includes(e.collection.id) && h.events.includes(e.action),
    );
    if (!hooks.length) return;
    const record = serializeRecord(e.collection, e.record, { showHidden: true, showEmail: true });
    for (const hook of hooks) {
      if (hook.filter) {
        const ctx = this.d.records.queryContext({ auth: null });
        if (!(await rowMatchesRule(ctx, e.collection, e.record, hook.filter))) continue;
      }
      const sent = hook.fields.length
        ? Object.fromEntries(
            Object.entries(record).filter(
              ([k]) =>
                hook.fields.includes(k) || k === "id" || k === "collectionId" || k === "collectionName",
            ),
          )
        : record;
      const body = JSON.stringify({
        type: `record.${e.action}`,
        timestamp: new Date().toISOString(),
        data: {
          collectionId: e.collection.id,
          collectionName: e.collection.name,
          action: e.action,
          ...(e.authMethod ? { authMethod: e.authMethod } : {}),
          record: sent,
        },
      });
      const id = `msg_${newRecordId()}`;
      const now = Date.now();
      await this.d.db.transaction(async (tx) => {
        await tx.run(
          `INSERT INTO ${D} (id, webhook, type, body, status, attempts, response_status, latency_ms, response_excerpt, error, created, updated) ` +
            "VALUES (?, ?, ?, ?, 'pending', 0, 0, 0, '', '', ?, ?)",
          [id, hook.id, `record.${e.action}`, body, now, now],
        );
        await this.d.jobs.enqueue(
          WEBHOOK_QUEUE,
          { delivery: id },
          { maxAttempts: ATTEMPTS, idempotencyKey: id, tx },
        );
      });
    }
  }

  private async record(id: string, values: Record<string, string | number>): Promise<void> {
    const keys = Object.keys(values);
    await this.d.db.run(
      `UPDATE ${D} SET ${keys.map((k) => `${k} = ?`).join(", ")}, updated = ? WHERE id = ?`,
      [...keys.map((k) => values[k]), Date.now(), id],
    );
  }

  private async deliver(job: JobContext<{ delivery: string }>): Promise<void> {
    const row = await this.d.db.get<Record<string, unknown>>(`SELECT * FROM ${D} WHERE id = ?`, [
      job.payload.delivery,
    ]);
    if (!row) return;
    const hook = await this.get(String(row.webhook));
    if (!hook) return;
    const body = String(row.body);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "Basalt-Webhooks/1",
      ...standardWebhookHeaders(hook.secret, String(row.id), Math.floor(Date.now() / 1000), body),
    };
    const started = performance.now();
    const attempts = Number(row.attempts) + 1;
    const last = job.attempt >= job.maxAttempts;
    try {
      const tracer = this.d.tracer ?? NO_TRACER;
      const target = new URL(hook.url);
      const res = await tracer.span(
        "POST",
        {
          "http.request.method": "POST",
          "server.address": target.hostname,
          "url.full": `${target.origin}${target.pathname}`,
          "basalt.webhook.id": hook.id,
        },
        async (set) => {
          tracer.inject(headers);
          const answer = await safePost(hook.url, body, headers, {
            allowed: this.d.allowedTargets,
            timeoutMs: this.d.timeoutMs,
            maxResponseBytes: MAX_RESPONSE,
            maxRedirects: 3,
          });
          set({ "http.response.status_code": answer.status });
          return answer;
        },
        "client",
      );
      const ok = res.status >= 200 && res.status < 300;
      await this.record(String(row.id), {
        status: ok ? "success" : last ? "failed" : "retrying",
        attempts,
        response_status: res.status,
        latency_ms: Math.round(performance.now() - started),
        response_excerpt: res.body.slice(0, EXCERPT),
        error: ok ? "" : `the target answered ${res.status}`,
      });
      if (ok) {
        this.outcomes.delivered++;
        return;
      }
      throw new Error(`the target answered ${res.status}`);
    } catch (err) {
      const blocked = err instanceof BlockedTargetError;
      const message = err instanceof Error ? err.message : String(err);
      if (!message.startsWith("the target answered")) {
        await this.record(String(row.id), {
          status: blocked || last ? "failed" : "retrying",
          attempts,
          response_status: 0,
          latency_ms: Math.round(performance.now() - started),
          response_excerpt: "",
          error: message.slice(0, 1000),
        });
      }
      if (blocked) {
        // a refused target will not become allowed by retrying
        this.outcomes.blocked++;
        return;
      }
      if (last) this.outcomes.failed++;
      else this.outcomes.retried++;
      throw err;
    }
  }
}
