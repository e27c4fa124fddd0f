import { randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { App } from "../core/app.js";
import { clusterMessage, type ForwardedAnswer, parentChannel } from "../util/index.js";

// Marks a subscription request a sibling worker forwarded here, so it is never forwarded again. The value is
// this process's own secret: a client cannot send a request that passes for forwarded.
const FORWARDED = "x-basalt-forwarded";

/** How long a forwarded subscription request waits for the sibling workers' answers. */
const FORWARD_TIMEOUT_MS = 3_000;

/** Subscription requests between the workers of `basalt serve --workers` (issue 19). */
export interface SubscriptionForwarding {
  /**
   * Asks the sibling workers to apply a subscription request for a client this worker does not hold; the
   * answer of the one that holds it, or null when none does (or none answered in time).
   */
  forward(request: FastifyRequest, clientId: string, subscriptions: unknown): Promise<ForwardedAnswer | null>;
}

/**
 * In a `--workers` worker: the SDK opens its realtime stream on one connection and posts its subscriptions
 * on another, which the primary may hand to another worker. That worker forwards the request, through the
 * primary, to the sibling that holds the stream, which runs it through its own route (the same validation,
 * auth, IP and limit checks) and sends the answer back. Null outside a worker.
 */
export function subscriptionForwarding(server: FastifyInstance, app: App): SubscriptionForwarding | null {
  if (!app.config.clusterWorker) return null;
  const channel = parentChannel();
  if (!channel) return null;
  const secret = randomBytes(18).toString("base64url");
  const pending = new Map<number, (answer: ForwardedAnswer | null) => void>();
  let nextId = 1;
  const answer = (id: number, result: ForwardedAnswer | null) =>
    channel.send({ basalt: "rt-forward-result", id, answer: result });
  const off = channel.onMessage((raw) => {
    const m = clusterMessage(raw);
    if (m?.basalt === "rt-forward-result") {
      pending.get(m.id)?.(m.answer);
      pending.delete(m.id);
      return;
    }
    if (m?.basalt !== "rt-forward") return;
    if (!app.realtime.client(m.clientId)) {
      answer(m.id, null);
      return;
    }
    server
      .inject({
        method: "POST",
        url: "/api/realtime",
        remoteAddress: m.ip,
        headers: {
          "content-type": "application/json",
          [FORWARDED]: secret,
          ...(m.authorization ? { authorization: m.authorization } : {}),
        },
        payload: JSON.stringify({ clientId: m.clientId, subscriptions: m.subscriptions }),
      })
      .then(
        (res) => {
          const retryAfter = res.headers["retry-after"];
          answer(m.id, {
            status: res.statusCode,
            body: res.body,
            ...(retryAfter !== undefined ? { retryAfter: String(retryAfter) } : {}),
          });
        },
        (err: unknown) => {
          app.log.error({ err }, "a forwarded realtime subscription failed");
          answer(m.id, null);
        },
      );
  });
  server.addHook("onClose", async () => {
    off();
    for (const done of pending.values()) done(null);
    pending.clear();
  });
  return {
    forward(request, clientId, subscriptions) {
      if (request.headers[FORWARDED] === secret) return Promise.resolve(null);
      const id = nextId++;
      const authorization = request.headers.authorization;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          resolve(null);
        }, FORWARD_TIMEOUT_MS);
        pending.set(id, (result) => {
          clearTimeout(timer);
          resolve(result);
        });
        const sent = channel.send({
          basalt: "rt-forward",
          id,
          clientId,
          subscriptions,
          ip: request.ip,
          ...(typeof authorization === "string" ? { authorization } : {}),
        });
        if (!sent) {
          const done = pending.get(id);
          pending.delete(id);
          done?.(null);
        }
      });
    },
  };
}
