import type { Queryable } from "../db/index.js";
import {
  type VerifyOptions,
  verifyStandardWebhook,
  verifyStripeSignature,
  WebhookVerificationError,
} from "./signatures.js";
import { INBOUND_TABLE } from "./webhooks-table.js";

/** What an inbound webhook carries, as a custom route received it. */
export interface InboundWebhook {
  /** `standard` (Standard Webhooks headers) or `stripe` (`Stripe-Signature`). */
  scheme: "standard" | "stripe";
  /** The endpoint's signing secret (`whsec_…`). */
  secret: string;
  /** Request headers (lower-case names). */
  headers: Record<string, string | string[] | undefined>;
  /** The body exactly as received: a re-serialised JSON object would not verify. */
  rawBody: string;
}

/** Options of `verifyInbound`. */
export interface VerifyInboundOptions extends VerifyOptions {
  /**
   * The transaction that acts on the message: the message is remembered as seen in it, so a replay is
   * refused only once the first delivery's work committed (and a rolled-back attempt can be sent again).
   */
  tx?: Queryable;
}

function first(value: string | string[] | undefined): string {
  return Array.isArray(value) ? (value[0] ?? "") : (value ?? "");
}

/**
 * Verifies a signed inbound webhook (signature and timestamp within the tolerance, 5 minutes by default)
 * and refuses a message id already seen (a replay); returns the message id and parsed body. Throws
 * WebhookVerificationError; answer it with a 400.
 *
 * @example
 * await app.db.transaction(async (tx) => {
 *   const { body } = await verifyInbound(app.db, { scheme: "stripe", secret, headers, rawBody }, { tx });
 *   // mark the order paid with tx
 * });
 */
export async function verifyInbound(
  db: Queryable,
  message: InboundWebhook,
  options: VerifyInboundOptions = {},
): Promise<{ id: string; body: unknown }> {
  let id: string;
  let body: unknown;
  if (message.scheme === "stripe") {
    const { event } = verifyStripeSignature(
      message.secret,
      first(message.headers["stripe-signature"]),
      message.rawBody,
      options,
    );
    id = typeof event.id === "string" ? event.id : "";
    body = event;
  } else {
    id = verifyStandardWebhook(message.secret, message.headers, message.rawBody, options).id;
    try {
      body = JSON.parse(message.rawBody);
    } catch {
      body = message.rawBody;
    }
  }
  if (!id || id.length > 200) throw new WebhookVerificationError("the webhook message has no usable id");
  const q = options.tx ?? db;
  const now = options.now ?? Date.now();
  // ids older than twice the tolerance can no longer pass the timestamp check: forget them
  await q.run(`DELETE FROM ${INBOUND_TABLE} WHERE seen < ?`, [
    now - 2 * 1000 * (options.toleranceSeconds ?? 300),
  ]);
  const { changes } = await q.run(
    `INSERT INTO ${INBOUND_TABLE} (id, seen) VALUES (?, ?) ON CONFLICT DO NOTHING`,
    [`${message.scheme}:${id}`, now],
  );
  if (!changes) throw new WebhookVerificationError("the webhook message was already received (a replay)");
  return { id, body };
}
