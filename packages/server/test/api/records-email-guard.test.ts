import type PocketBase from "pocketbase";
import type { RecordModel } from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, userToken } from "../harness/fixtures/users.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";
import { eventually, installEventSource } from "../harness/sse.js";

// Security regression: a filter reaching several related auth records WITHOUT the `?` prefix ("all of them
// must match") must not let a guest or an unrelated user read an e-mail its owner hid. Two records are
// built alike except for the hidden e-mail of one related user; every probe must treat them alike.

installEventSource();

const PUBLIC = "~attacker@example.com";
const SECRET = "bob.secret@victim.org";
const OTHER = "zed@elsewhere.net";

let server: TestServer;
let su: PocketBase;
let memberToken = "";
const ids = { post1: "", post2: "", marker: "", team1: "", team2: "" };

beforeAll(async () => {
  server = await startServer();
  su = await superuserSdk(server);
  const teams = await su.collections.create({
    name: "teams",
    fields: [{ name: "name", type: "text" }],
    listRule: "",
    viewRule: "",
  } as never);
  const users = await su.collections.getOne("users");
  await su.collections.update("users", {
    listRule: "",
    viewRule: "",
    fields: [...users.fields, { name: "teams", type: "relation", collectionId: teams.id, maxSelect: 5 }],
  } as never);
  await su.collections.create({
    name: "posts",
    fields: [
      { name: "title", type: "text" },
      { name: "authors", type: "relation", collectionId: "_pb_users_auth_", maxSelect: 5 },
      { name: "team", type: "relation", collectionId: teams.id, maxSelect: 1 },
    ],
    listRule: "",
    viewRule: "",
  } as never);
  ids.team1 = (await su.collection("teams").create({ name: "t1" })).id;
  ids.team2 = (await su.collection("teams").create({ name: "t2" })).id;
  const mk = (email: string, emailVisibility: boolean, teamIds: string[]) =>
    su.collection("users").create({
      email,
      emailVisibility,
      password: "password123",
      passwordConfirm: "password123",
      teams: teamIds,
    });
  const a = await mk(PUBLIC, true, [ids.team1, ids.team2]);
  const b1 = await mk(SECRET, false, [ids.team1]);
  const b2 = await mk(OTHER, false, [ids.team2]);
  ids.post1 = (
    await su.collection("posts").create({ title: "p1", authors: [a.id, b1.id], team: ids.team1 })
  ).id;
  ids.post2 = (
    await su.collection("posts").create({ title: "p2", authors: [a.id, b2.id], team: ids.team2 })
  ).id;
  ids.marker = (await su.collection("posts").create({ title: "marker", authors: [a.id] })).id;
  await createUser(server, "member@example.com", "member-password-1");
  memberToken = await userToken(server, "member@example.com", "member-password-1");
});
afterAll(() => server.stop());

async function list(collection: string, filter: string, token?: string): Promise<string[]> {
  const q = new URLSearchParams({ filter, perPage: "500" });
  const res = await server.fetch(`/api/collections/${collection}/records?${q}`, { token });
  expect([filter, res.status]).toEqual([filter, 200]);
  const body = (await res.json()) as { items: { id: string }[] };
  return body.items.map((i) => i.id);
}

const OPS = ["=", "!=", "<", "<=", ">", ">=", "~", "!~"].flatMap((op) => [op, `?${op}`]);
const LITERALS = [SECRET, OTHER, PUBLIC, "nobody@x.org", "bob%", "b%", "z%", "", "@"];

describe("hidden e-mails through multi-value relations and back-relations", () => {
  it("the finding's request: a guest cannot tell the hidden e-mail apart", async () => {
    const hit = await list("posts", `authors.email != '${SECRET}'`);
    const miss = await list("posts", "authors.email != 'nobody@x.org'");
    expect(hit).toEqual(miss);
    expect(hit).toContain(ids.marker);
    // the character-by-character oracle gives nothing either
    expect(await list("posts", "authors.email !~ 'bob%'")).toEqual(
      await list("posts", "authors.email !~ 'q%'"),
    );
    // the hidden e-mail itself never matches, the public one still does
    expect(await list("posts", `authors.email ?= '${SECRET}'`)).toEqual([]);
    expect((await list("posts", `authors.email ?= '${PUBLIC}'`)).sort()).toEqual(
      [ids.post1, ids.post2, ids.marker].sort(),
    );
  });

  for (const [who, token] of [
    ["a guest", () => undefined],
    ["an unrelated signed-in user", () => memberToken],
  ] as const) {
    it(`${who}: two records differing only in a hidden e-mail match alike (every operator)`, async () => {
      const differ: string[] = [];
      for (const op of OPS) {
        for (const lit of LITERALS) {
          const posts = await list("posts", `authors.email ${op} '${lit}'`, token());
          if (posts.includes(ids.post1) !== posts.includes(ids.post2))
            differ.push(`posts: authors.email ${op} '${lit}'`);
          const teams = await list("teams", `users_via_teams.email ${op} '${lit}'`, token());
          if (teams.includes(ids.team1) !== teams.includes(ids.team2))
            differ.push(`teams: users_via_teams.email ${op} '${lit}'`);
          // a relation chain ending in a back-relation (team t1 holds the first hidden user, t2 the other)
          const chain = await list("posts", `team.users_via_teams.email ${op} '${lit}'`, token());
          if (chain.includes(ids.post1) !== chain.includes(ids.post2))
            differ.push(`posts: team.users_via_teams.email ${op} '${lit}'`);
        }
      }
      expect(differ).toEqual([]);
    }, 120_000);
  }

  it("a superuser still filters by hidden e-mails", async () => {
    const token = await su.authStore.token;
    expect(await list("posts", `authors.email ?= '${SECRET}'`, token)).toEqual([ids.post1]);
    expect((await list("posts", `authors.email != '${SECRET}'`, token)).sort()).toEqual(
      [ids.post2, ids.marker].sort(),
    );
    expect(await list("teams", `users_via_teams.email !~ 'bob%'`, token)).toEqual([ids.team2]);
  });

  it("realtime subscription filters leak nothing either", async () => {
    type Msg = { action: string; record: RecordModel };
    const filters = [`authors.email != '${SECRET}'`, "authors.email !~ 'bob%'", "authors.email !~ 'zed%'"];
    const guest = server.sdk();
    const got = filters.map(() => [] as Msg[]);
    const unsubs = await Promise.all(
      filters.map((filter, i) =>
        guest.collection("posts").subscribe("*", (m: Msg) => got[i].push(m), { filter }),
      ),
    );
    for (const id of [ids.post1, ids.post2, ids.marker])
      await su.collection("posts").update(id, { title: "t" });
    await eventually(
      () => got.every((list) => list.some((m) => m.record.id === ids.marker)),
      3000,
      "the marker's update on every subscription",
    );
    await server.basalt.app.realtime.drain();
    for (const [i, list] of got.entries()) {
      const seen = new Set(list.map((m) => m.record.id));
      expect([filters[i], seen.has(ids.post1)]).toEqual([filters[i], seen.has(ids.post2)]);
    }
    for (const u of unsubs) await u();
    guest.realtime.unsubscribe().catch(() => undefined);
  });
});
