import { setImmediate as yieldToLoop } from "node:timers/promises";
import type { Logger } from "pino";
import type { RequestAuth } from "../auth/index.js";
import type { Collection } from "../core/collections/index.js";
import type { RecordRequest, RecordsService } from "../core/records/index.js";
import { subscriberCanSee } from "./access.js";
import type { RealtimeRecordMessage } from "./bus.js";
import type { RealtimeClient } from "./client.js";
import type { Topic } from "./topics.js";

/** How long delivery works before letting other requests run (ms). */
const SLICE_MS = 4;
/** Checks in flight at once (PostgreSQL round trips overlap; on SQLite each runs to completion anyway). */
const CONCURRENCY = 8;

/** What one record event's delivery needs from the broker. */
export interface DeliveryDeps {
  readonly records: RecordsService;
  readonly log: Logger;
  /** The client's current auth (null once its token expired). */
  authFor(client: RealtimeClient): RequestAuth | null;
  /** Writes one message to a client (through the message hook); `json` is `data` serialised. */
  send(client: RealtimeClient, name: string, json: string, data: unknown): unknown;
  /** Checks (queries) one event may run across all clients. */
  readonly maxChecks: number;
}

/** One rule/filter question: the same answer for every subscription that shares its key. */
interface Check {
  readonly req: RecordRequest;
  readonly rule: string | null;
  readonly filter: string | undefined;
  answer?: boolean;
}

/** Subscribers that receive the same payload (same auth, rule and options). */
interface Group {
  readonly req: RecordRequest;
  readonly topic: Topic;
  /** The shared check, or the answer when it needs no query. */
  readonly check: Check | boolean;
  /** The shared check's key, when there is one. */
  readonly checkKey?: string;
  readonly targets: [RealtimeClient, string][];
}

/** A rough cost order of a subscription's `expand`: the number of relation steps it names. */
function expandWeight(topic: Topic): number {
  const expand = topic.query.expand;
  if (!expand) return 0;
  let n = 1;
  for (const ch of expand) if (ch === "." || ch === ",") n++;
  return n;
}

/**
 * Calls `fn` on each item, a few at a time, and yields to the event loop whenever it has worked for
 * `SLICE_MS`, so a write with thousands of subscribers never holds other requests back for long.
 */
async function sliced<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let since = performance.now();
  for (let i = 0; i < items.length; i += CONCURRENCY) {
    await Promise.all(items.slice(i, i + CONCURRENCY).map(fn));
    if (performance.now() - since >= SLICE_MS) {
      await yieldToLoop();
      since = performance.now();
    }
  }
}

/**
 * Delivers one record event to the matching subscriptions of `clients`. Subscriptions asking the same
 * question share one check: the key is the rule and filter, plus the subscriber's identity and options only
 * when the rule or filter reads `@request` (and superusers apart, who skip the rule). Checks run within a
 * budget per event: clients are admitted in order of how many new checks they need, fewest first, and those
 * that do not fit are disconnected (logged) instead of stalling everyone. Returns the number of checks run.
 */
export async function deliverRecordEvent(
  deps: DeliveryDeps,
  clients: Iterable<RealtimeClient>,
  collection: Collection,
  message: RealtimeRecordMessage,
): Promise<number> {
  const recordId = String(message.record.id);
  const checks = new Map<string, Check>();
  const groups = new Map<string, Group>();
  const demand: { client: RealtimeClient; keys: Set<string> }[] = [];
  for (const client of clients) {
    const keys = new Set<string>();
    let matched = false;
    for (const topic of client.subscriptions.values()) {
      const byName = topic.collection === collection.name || topic.collection === collection.id;
      if (!byName || (topic.recordId !== "*" && topic.recordId !== recordId)) continue;
      const auth = deps.authFor(client);
      const su = auth?.isSuperuser === true;
      const rule = topic.recordId === "*" ? collection.listRule : collection.viewRule;
      const filter = topic.query.filter?.trim() || undefined;
      const who = auth ? `${auth.collection.id}/${String(auth.record.id)}` : "guest";
      const key = `${who}\u0000${rule ?? "\u0001"}\u0000${topic.optionsKey}`;
      let group = groups.get(key);
      if (!group) {
        const req: RecordRequest = {
          auth,
          query: topic.query,
          headers: topic.headers,
          method: "GET",
          context: "realtime",
        };
        let check: Check | boolean;
        let checkKey: string | undefined;
        if (rule === null && !su) check = false;
        else if ((su || !rule) && !filter) check = true;
        else {
          const asks = `${rule ?? ""}\u0000${filter ?? ""}`;
          const dep = su ? "su" : asks.includes("@request") ? `${who}\u0000${topic.optionsKey}` : "any";
          checkKey = `${asks}\u0000${dep}`;
          check = checks.get(checkKey) ?? { req, rule, filter };
          checks.set(checkKey, check);
        }
        group = { req, topic, check, checkKey, targets: [] };
        groups.set(key, group);
      }
      if (group.checkKey !== undefined) keys.add(group.checkKey);
      matched = true;
      group.targets.push([client, topic.raw]);
    }
    if (matched) demand.push({ client, keys });
  }

  // Admit clients fewest-checks first until the budget is spent; the rest are disconnected.
  demand.sort((a, b) => a.keys.size - b.keys.size);
  const admitted = new Set<string>();
  const refused = new Set<RealtimeClient>();
  for (const d of demand) {
    let extra = 0;
    for (const k of d.keys) if (!admitted.has(k)) extra++;
    if (admitted.size + extra > deps.maxChecks) refused.add(d.client);
    else for (const k of d.keys) admitted.add(k);
  }
  if (refused.size) {
    deps.log.warn(
      { collection: collection.name, refused: refused.size, checks: admitted.size },
      "realtime check budget exceeded: disconnecting the clients asking for the most checks",
    );
    for (const c of refused) c.drop();
  }

  const toRun = [...admitted].map((k) => checks.get(k) as Check);
  await sliced(toRun, async (c) => {
    try {
      c.answer = await subscriberCanSee(deps.records, collection, message.record, c.req, c.rule, c.filter);
    } catch (err) {
      c.answer = false;
      deps.log.warn({ err, collection: collection.name }, "realtime check failed for a subscription");
    }
  });
  const deliverable = [...groups.values()].filter((g) =>
    typeof g.check === "boolean" ? g.check : g.check.answer === true,
  );
  // One expanded-records budget for the whole event, across its subscribers (issue 10). Payloads without
  // expand cost nothing from it and go first, then the shallowest expands: a subscriber asking for a huge
  // expand is the one that misses the event, not the others.
  const budget = deps.records.expandBudget();
  deliverable.sort((a, b) => expandWeight(a.topic) - expandWeight(b.topic));
  await sliced(deliverable, async ({ req, topic, targets }) => {
    const live = targets.filter(([c]) => !c.isClosed);
    if (!live.length) return;
    try {
      const [record] = await deps.records.enrich(collection, [message.record], req, {
        expand: topic.query.expand,
        fields: topic.query.fields,
        budget,
      });
      const data = { action: message.action, record };
      const json = JSON.stringify(data);
      for (const [client, event] of live) {
        const sent = deps.send(client, event, json, data);
        if (sent instanceof Promise) await sent;
      }
    } catch (err) {
      deps.log.warn({ err, collection: collection.name }, "realtime event not serialised for a subscriber");
    }
  });
  return toRun.length;
}
