import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** A new Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith("whsec_") ? secret.slice(6) : secret, "base64");
}

/**
 * The Standard Webhooks headers for a message: `webhook-id`, `webhook-timestamp` (seconds) and
 * `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` with the secret's key).
 */
export function standardWebhookHeaders(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string,
): Record<string, string> {
  const signature = createHmac("sha256", secretKey(secret))
    .update(`${id}.${timestampSeconds}.${body}`)
    .digest("base64");
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": `v1,${signature}`,
  };
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Why an inbound webhook was refused. */
export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WebhookVerificationError";
  }
}

/** Options shared by the inbound verifiers. */
export interface VerifyOptions {
  /** Largest accepted distance between the signed timestamp and now, in seconds (default 300). */
  toleranceSeconds?: number;
  /** The current time in ms (tests). */
  now?: number;
}

function checkTimestamp(seconds: number, options: VerifyOptions): void {
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  if (!Number.isFinite(seconds) || Math.abs(now - seconds) > (options.toleranceSeconds ?? 300)) {
    throw new WebhookVerificationError("the webhook timestamp is missing or too old");
  }
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string {
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? (value[0] ?? "") : (value ?? "");
}

/**
 * Verifies an inbound Standard Webhooks message (raw body as received) and returns its `webhook-id`, which
 * the caller should record to refuse replays. Throws WebhookVerificationError.
 */
export function verifyStandardWebhook(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  rawBody: string,
  options: VerifyOptions = {},
): { id: string; timestamp: number } {
  const id = header(headers, "webhook-id");
  const ts = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!id || !/^\d{1,12}$/.test(ts) || !signatures)
    throw new WebhookVerificationError("missing webhook headers");
  const timestamp = Number(ts);
  checkTimestamp(timestamp, options);
  const expected = standardWebhookHeaders(secret, id, timestamp, rawBody)["webhook-signature"];
  const ok = signatures.split(" ").some((s) => sameText(s, expected));
  if (!ok) throw new WebhookVerificationError("the webhook signature does not match");
  return { id, timestamp };
}

/**
 * Verifies Stripe's `Stripe-Signature` header (`t=…,v1=…`: HMAC-SHA256 of `t.body` with the endpoint
 * secret, hex) and returns the parsed event. Throws WebhookVerificationError.
 */
export function verifyStripeSignature(
  secret: string,
  signatureHeader: string,
  rawBody: string,
  options: VerifyOptions = {},
): { timestamp: number; event: Record<string, unknown> } {
  let t = "";
  const v1: string[] = [];
  for (const part of String(signatureHeader ?? "").split(",")) {
    const [k, v] = part.split("=", 2);
    if (k?.trim() === "t") t = (v ?? "").trim();
    if (k?.trim() === "v1") v1.push((v ?? "").trim());
  }
  if (!/^\d{1,12}$/.test(t) || !v1.length)
    throw new WebhookVerificationError("malformed Stripe-Signature header");
  const timestamp = Number(t);
  checkTimestamp(timestamp, options);
  const expected = createHmac("sha256", secret).update(`${t}.${rawBody}`).digest("hex");
  if (!v1.some((s) => sameText(s, expected))) {
    throw new WebhookVerificationError("the Stripe signature does not match");
  }
  try {
    return { timestamp, event: JSON.parse(rawBody) as Record<string, unknown> };
  } catch {
    throw new WebhookVerificationError("the webhook body is not JSON");
  }
}
