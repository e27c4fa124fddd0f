import type { Logger } from "pino";
import type { RequestAuth } from "../auth/index.js";
import type { Collection } from "../core/collections/index.js";
import type { RecordRequest, RecordsService } from "../core/records/index.js";
import { TurnSlicer } from "../util/index.js";
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
  /** Writes one message to a client (through the message hook). */
  send(client: RealtimeClient, name: string, payload: Payload): unknown;
  /** Checks (queries) one event may run across all clients. */
  readonly maxChecks: number;
  /**
   * Whether something other than the reader's rights shapes this collection's records (an `onRecordEnrich`
   * handler sees the auth); unknown counts as yes, and each reader's payload is then made apart.
   */
  enrichDependsOnAuth?(collection: Collection): boolean;
}

/** One event's data for the readers of one shape: as sent, as JSON, and as the frame body shared by all. */
export interface Payload {
  readonly data: unknown;
  readonly json: string;
  /** `json` and the blank line that ends an SSE frame. */
  readonly body: Buffer;
}

/** One rule/filter question: the same answer for every subscription that shares its key. */
interface Check {
  readonly req: RecordRequest;
  readonly rule: string | null;
  readonly filter: string | undefined;
  answer?: boolean;
}

/** Subscribers that receive the same answer and payload (same auth, rule and options). */
interface Group {
  readonly req: RecordRequest;
  readonly topic: Topic;
  /** The shared check, or the answer when it needs no query. */
  readonly check: Check | boolean;
  /** The shared check's key, when there is one. */
  readonly checkKey?: string;
  /** Who else gets the same serialised record: see `payloadKey`. */
  readonly payloadKey: string;
  readonly clients: RealtimeClient[];
  /** The event name for each of `clients`: the subscription as the client wrote it. */
  readonly names: string[];
}

/** The identity part of the keys, made once per auth object rather than once per client and event. */
const whoOf = (() => {
  const cache = new WeakMap<RequestAuth, string>();
  return (auth: RequestAuth | null): string => {
    if (!auth) return "guest";
    let who = cache.get(auth);
    if (who === undefined) {
      who = `${auth.collection.id}/${String(auth.record.id)}`;
      cache.set(auth, who);
    }
    return who;
  };
})();

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
  const slicer = new TurnSlicer(SLICE_MS);
  let next = 0;
  // one pause shared by every lane: a slice is SLICE_MS of work in all, not per lane (on SQLite each call
  // runs to completion at once, and eight of them in a row held the event loop for tens of ms)
  let pause: Promise<void> | null = null;
  const lane = async (): Promise<void> => {
    for (;;) {
      while (slicer.due) {
        pause ??= slicer.pause().then(() => {
          pause = null;
        });
        await pause;
      }
      if (next >= items.length) return;
      await fn(items[next++] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, lane));
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
  // who -> options -> group, for `*` (list rule) and record (view rule) subscriptions: nested maps of
  // strings made once, rather than one concatenated key per client and event
  const listGroups = new Map<string, Map<string, Group>>();
  const viewGroups = new Map<string, Map<string, Group>>();
  const groups: Group[] = [];
  // What the serialised record depends on besides the options: superusers see hidden fields; the record's
  // owner and managers may see an auth record's e-mail; expand follows the reader's rules; an enrich hook
  // sees the auth. Otherwise every reader gets the same JSON, made once per event and options.
  const perReader = collection.type === "auth" || (deps.enrichDependsOnAuth?.(collection) ?? true);
  const demand: { client: RealtimeClient; keys: Set<string> }[] = [];
  // grouping 100 clients' 1,000 subscriptions each is itself tens of ms: it yields between clients too
  const slicer = new TurnSlicer(SLICE_MS);
  for (const client of [...clients]) {
    if (slicer.due) await slicer.pause();
    if (client.isClosed) continue;
    let keys: Set<string> | undefined;
    let auth: RequestAuth | null | undefined;
    let who = "";
    for (const topic of client.subscriptions.values()) {
      const byName = topic.collection === collection.name || topic.collection === collection.id;
      if (!byName || (topic.recordId !== "*" && topic.recordId !== recordId)) continue;
      if (auth === undefined) {
        auth = deps.authFor(client);
        who = whoOf(auth);
      }
      const list = topic.recordId === "*";
      const byWho = list ? listGroups : viewGroups;
      let byOptions = byWho.get(who);
      if (!byOptions) {
        byOptions = new Map();
        byWho.set(who, byOptions);
      }
      let group = byOptions.get(topic.optionsKey);
      if (!group) {
        const su = auth?.isSuperuser === true;
        const rule = list ? collection.listRule : collection.viewRule;
        const filter = topic.query.filter?.trim() || undefined;
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
        const reader = su ? "su" : perReader || topic.query.expand ? who : "any";
        const payloadKey = `${reader}\u0000${topic.optionsKey}`;
        group = { req, topic, check, checkKey, payloadKey, clients: [], names: [] };
        byOptions.set(topic.optionsKey, group);
        groups.push(group);
      }
      if (group.checkKey !== undefined) {
        keys ??= new Set();
        keys.add(group.checkKey);
      }
      group.clients.push(client);
      group.names.push(topic.raw);
    }
    // a client whose subscriptions need no query cannot exceed the check budget
    if (keys) demand.push({ client, keys });
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
  const deliverable = groups.filter((g) =>
    typeof g.check === "boolean" ? g.check : g.check.answer === true,
  );
  // One expanded-records budget for the whole event, across its subscribers (issue 10). Payloads without
  // expand cost nothing from it and go first, then the shallowest expands: a subscriber asking for a huge
  // expand is the one that misses the event, not the others.
  const budget = deps.records.expandBudget();
  deliverable.sort((a, b) => expandWeight(a.topic) - expandWeight(b.topic));
  const payloads = new Map<string, Promise<Payload>>();
  await sliced(deliverable, async ({ req, topic, payloadKey, clients, names }) => {
    if (!clients.some((c) => !c.isClosed)) return;
    try {
      let payload = payloads.get(payloadKey);
      if (!payload) {
        payload = deps.records
          .enrich(collection, [message.record], req, {
            expand: topic.query.expand,
            fields: topic.query.fields,
            budget,
          })
          .then(([record]) => {
            const data = { action: message.action, record };
            const json = JSON.stringify(data);
            return { data, json, body: Buffer.from(`${json}\n\n`) };
          });
        payloads.set(payloadKey, payload);
      }
      const shared = await payload;
      for (let i = 0; i < clients.length; i++) {
        const client = clients[i] as RealtimeClient;
        if (client.isClosed) continue;
        const sent = deps.send(client, names[i] as string, shared);
        if (sent instanceof Promise) await sent;
      }
    } catch (err) {
      deps.log.warn({ err, collection: collection.name }, "realtime event not serialised for a subscriber");
    }
  });
  return toRun.length;
}
