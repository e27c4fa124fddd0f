import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";
import {
  type ApiError,
  badRequest,
  type ErrorData,
  fieldError,
  forbidden,
  notFound,
  tooManyRequests,
} from "../errors/index.js";
import {
  MAX_SUBSCRIPTIONS,
  MAX_TOPIC_LENGTH,
  parseTopic,
  type RealtimeClient,
  type RealtimeRefusal,
  type Topic,
} from "../realtime/index.js";
import { TurnSlicer } from "../util/index.js";
import { bodyObject } from "./guards.js";
import { subscriptionForwarding } from "./realtime-forward.js";

const SSE_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-store",
  connection: "keep-alive",
  "x-accel-buffering": "no",
};

/** The answer to a refused stream or subscription change: 400 for what one client asked, else 429. */
function refusal(app: App, why: RealtimeRefusal): ApiError {
  const limits = app.realtime.limits;
  switch (why) {
    case "clients":
      return tooManyRequests("Too many realtime connections. Try again later.");
    case "clients_per_ip":
      return tooManyRequests("Too many realtime connections from this address.");
    case "bytes_per_client":
      return badRequest("An error occurred while validating the submitted data.", {
        subscriptions: fieldError(
          "validation_length_too_long",
          `The subscriptions must be no more than ${limits.maxSubscriptionBytesPerClient} characters in total.`,
        ),
      });
    case "options_per_collection":
      return badRequest("An error occurred while validating the submitted data.", {
        subscriptions: fieldError(
          "validation_too_many_options",
          `No more than ${limits.maxOptionsPerCollection} different subscription options per collection.`,
        ),
      });
    default:
      return tooManyRequests("Too many realtime subscriptions. Try again later.");
  }
}

/**
 * The realtime API as PocketBase speaks it: `GET /api/realtime` opens an SSE stream that starts with
 * `PB_CONNECT`; `POST /api/realtime {clientId, subscriptions}` replaces that client's subscriptions (204).
 */
export function registerRealtime(server: FastifyInstance, app: App): void {
  const forwarding = subscriptionForwarding(server, app);
  // Subscription requests apply in the order they arrived, even when a long one yields while parsing: a
  // request that arrived before the one last applied to its client changes nothing (its list was replaced).
  let arrivals = 0;
  const applied = new WeakMap<RealtimeClient, number>();
  server.get("/api/realtime", (request, reply) => {
    const refused = app.realtime.canConnect(request.ip);
    if (refused) {
      reply.header("retry-after", "10");
      throw refusal(app, refused);
    }
    reply.hijack();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = String(v);
    reply.raw.writeHead(200, { ...headers, ...SSE_HEADERS });
    request.raw.socket.setTimeout(0);
    request.raw.socket.setNoDelay(true);
    app.realtime.connect(reply.raw, request.ip);
  });

  server.post("/api/realtime", async (request, reply) => {
    const arrival = ++arrivals;
    const body = bodyObject(request);
    const errors: ErrorData = {};
    const clientId = body.clientId;
    const subscriptions = body.subscriptions ?? [];
    if (typeof clientId !== "string" || clientId === "")
      errors.clientId = fieldError("validation_required", "Cannot be blank.");
    else if (clientId.length > 255)
      errors.clientId = fieldError("validation_length_out_of_range", "The length must be between 1 and 255.");
    const topics: Topic[] = [];
    if (!Array.isArray(subscriptions)) {
      errors.subscriptions = fieldError("validation_invalid_type", "Must be a list of strings.");
    } else if (subscriptions.length > MAX_SUBSCRIPTIONS) {
      errors.subscriptions = fieldError(
        "validation_length_too_long",
        `The length must be no more than ${MAX_SUBSCRIPTIONS}.`,
      );
    } else {
      const bad: ErrorData = {};
      // 1,000 long topics take several ms to parse: other requests get turns in between
      const slicer = new TurnSlicer();
      for (const [i, s] of subscriptions.entries()) {
        const topic = typeof s === "string" ? parseTopic(s) : null;
        if (topic) topics.push(topic);
        else if (typeof s === "string" && s.length > MAX_TOPIC_LENGTH) {
          bad[String(i)] = fieldError(
            "validation_length_too_long",
            `The length must be no more than ${MAX_TOPIC_LENGTH}.`,
          );
        } else bad[String(i)] = fieldError("validation_invalid_subscription", "Invalid subscription.");
        if (slicer.due) await slicer.pause();
      }
      if (Object.keys(bad).length) errors.subscriptions = bad;
    }
    if (Object.keys(errors).length)
      throw badRequest("An error occurred while validating the submitted data.", errors);
    const client = app.realtime.client(clientId as string);
    if (!client) {
      // in a `--workers` worker, the stream may be held by a sibling: it answers instead
      const answer = await forwarding?.forward(request, clientId as string, subscriptions);
      if (!answer) throw notFound("Missing or invalid client id.");
      if (answer.retryAfter) reply.header("retry-after", answer.retryAfter);
      if (answer.status === 204 || !answer.body) return reply.status(answer.status).send();
      return reply.status(answer.status).type("application/json; charset=utf-8").send(answer.body);
    }
    if (client.ip !== request.ip) throw badRequest("The current and the previous request IP don't match.");
    const previous = client.auth;
    const next = request.auth;
    // Only a guest may become signed in; any other change of identity needs a new connection.
    if (
      previous &&
      (!next || previous.collection.id !== next.collection.id || previous.record.id !== next.record.id)
    ) {
      throw forbidden("The current and the previous request authorization don't match.");
    }
    const refused = app.realtime.canSubscribe(client, topics);
    if (refused) {
      reply.header("retry-after", "10");
      throw refusal(app, refused);
    }
    if ((applied.get(client) ?? 0) > arrival) return reply.status(204).send();
    applied.set(client, arrival);
    app.realtime.setSubscriptions(client, topics, next);
    return reply.status(204).send();
  });
}
