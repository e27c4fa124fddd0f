import { type Collection, type CollectionsService, checkRule } from "../core/collections/index.js";
import { badRequest, type ErrorData, fieldError } from "../errors/index.js";

/**
 * The record events a webhook can subscribe to: writes, and `auth`, a completed sign-in of an auth
 * collection's record (password, OTP or OAuth2; token refreshes and impersonation are not sign-ins).
 */
export const WEBHOOK_EVENTS = ["create", "update", "delete", "auth"] as const;

/** One of the record events. */
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** The settable part of a webhook. */
export interface WebhookInput {
  name: string;
  url: string;
  /** Collection ids. */
  collections: string[];
  events: WebhookEvent[];
  /** A rule expression selecting the records sent (empty: all). */
  filter: string;
  /** Record fields sent (empty: all but passwords and token keys). */
  fields: string[];
  active: boolean;
}

const MAX_URL = 2000;

function strings(value: unknown): string[] | null {
  return Array.isArray(value) && value.every((v) => typeof v === "string") ? (value as string[]) : null;
}

/**
 * Validates a create (`base` null) or update body into a webhook's settable fields; throws a 400 with
 * PocketBase-shaped field errors. Collections are given by id or name and stored as ids.
 */
export function readWebhookInput(
  body: Record<string, unknown>,
  base: WebhookInput | null,
  collections: CollectionsService,
): WebhookInput {
  const errors: ErrorData = {};
  const out: WebhookInput = base
    ? { ...base }
    : { name: "", url: "", collections: [], events: [], filter: "", fields: [], active: true };
  const has = (k: string) => Object.hasOwn(body, k);
  if (has("name")) {
    if (typeof body.name !== "string" || body.name.length > 100) {
      errors.name = fieldError("validation_invalid_value", "Must be text of at most 100 characters.");
    } else out.name = body.name;
  }
  if (has("url") || !base) {
    let ok = false;
    if (typeof body.url === "string" && body.url.length <= MAX_URL) {
      try {
        const u = new URL(body.url);
        ok = (u.protocol === "http:" || u.protocol === "https:") && !u.username && !u.password;
      } catch {
        ok = false;
      }
    }
    if (!ok) errors.url = fieldError("validation_invalid_url", "Must be an http(s) URL without credentials.");
    else out.url = body.url as string;
  }
  let resolved: Collection[] | null = null;
  if (has("collections") || !base) {
    const list = strings(body.collections);
    resolved = list?.map((n) => collections.find(n)).filter((c): c is Collection => !!c) ?? null;
    if (!list?.length || !resolved || resolved.length !== list.length || list.length > 100) {
      errors.collections = fieldError("validation_invalid_value", "Must list existing collections.");
    } else out.collections = [...new Set(resolved.map((c) => c.id))];
  }
  if (has("events") || !base) {
    const list = strings(body.events);
    if (!list?.length || !list.every((e) => (WEBHOOK_EVENTS as readonly string[]).includes(e))) {
      errors.events = fieldError(
        "validation_invalid_value",
        `Must list events among ${WEBHOOK_EVENTS.join(", ")}.`,
      );
    } else out.events = [...new Set(list)] as WebhookEvent[];
  }
  if (has("fields")) {
    const list = strings(body.fields);
    if (!list || list.length > 200)
      errors.fields = fieldError("validation_invalid_value", "Must list field names.");
    else out.fields = [...new Set(list)];
  }
  if (has("active")) {
    if (typeof body.active !== "boolean")
      errors.active = fieldError("validation_invalid_value", "Must be a bool.");
    else out.active = body.active;
  }
  if (has("filter")) {
    if (typeof body.filter !== "string" || body.filter.length > 3500) {
      errors.filter = fieldError("validation_invalid_value", "Must be a rule expression.");
    } else out.filter = body.filter;
  }
  if (out.filter && !errors.filter && !errors.collections) {
    for (const id of out.collections) {
      const c = collections.find(id);
      const reason = c ? checkRule(c, out.filter, collections.list()) : null;
      if (reason) {
        errors.filter = fieldError("validation_invalid_rule", `Invalid rule for ${c?.name}: ${reason}`);
        break;
      }
    }
  }
  if (Object.keys(errors).length)
    throw badRequest(`Failed to ${base ? "update" : "create"} webhook.`, errors);
  return out;
}
