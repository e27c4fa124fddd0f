import type PocketBase from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

let server: TestServer;
let guest: PocketBase;

const ITEMS = [
  { title: "Alpha", n: 1, tags: ["a"], active: true, when: "2024-01-01 10:00:00.000Z", note: "it's" },
  {
    title: "beta",
    n: 2,
    tags: ["a", "b"],
    active: false,
    when: "2024-06-01 10:00:00.000Z",
    note: 'say "hi"',
  },
  {
    title: "Gamma ray",
    n: 3,
    tags: ["b", "c"],
    active: true,
    when: "2025-01-01 10:00:00.000Z",
    note: "50%_off",
  },
  { title: "délta", n: 4, tags: [], active: false, when: "", note: "" },
  { title: "Epsilon", n: 5, tags: ["c"], active: true, when: "2026-03-01 10:00:00.000Z", note: "x" },
];

beforeAll(async () => {
  server = await startServer();
  const su = await superuserSdk(server);
  await su.collections.create({
    name: "items",
    fields: [
      { name: "title", type: "text" },
      { name: "n", type: "number" },
      { name: "tags", type: "select", values: ["a", "b", "c"], maxSelect: 3 },
      { name: "active", type: "bool" },
      { name: "when", type: "date" },
      { name: "note", type: "text" },
    ],
    listRule: "",
    viewRule: "",
  } as never);
  for (const item of ITEMS) await su.collection("items").create(item);
  guest = server.sdk();
});
afterAll(() => server.stop());

/** Each operator of the filter language, bound through the SDK's pb.filter(), through the records list API. */
const CASES: [string, Record<string, unknown>, string[]][] = [
  ["title = {:t}", { t: "beta" }, ["beta"]],
  ["title != {:t}", { t: "beta" }, ["Alpha", "Gamma ray", "délta", "Epsilon"]],
  ["n > {:n}", { n: 3 }, ["délta", "Epsilon"]],
  ["n >= {:n}", { n: 3 }, ["Gamma ray", "délta", "Epsilon"]],
  ["n < {:n}", { n: 2 }, ["Alpha"]],
  ["n <= {:n}", { n: 2 }, ["Alpha", "beta"]],
  ["title ~ {:q}", { q: "ALP" }, ["Alpha"]],
  ["title !~ {:q}", { q: "a" }, ["Epsilon"]],
  ["note ~ {:q}", { q: "50%_" }, ["Gamma ray"]],
  ["note = {:q}", { q: "it's" }, ["Alpha"]],
  ["note = {:q}", { q: 'say "hi"' }, ["beta"]],
  // a bare multi-valued field is its stored JSON as a whole; :each reaches the values
  ["tags ?= {:t}", { t: "b" }, []],
  ["tags ~ {:t}", { t: "c" }, ["Gamma ray", "Epsilon"]],
  ["tags:each ?= {:t}", { t: "b" }, ["beta", "Gamma ray"]],
  ["tags:each = {:t}", { t: "a" }, ["Alpha"]],
  ["tags:each ?!= {:t}", { t: "a" }, ["beta", "Gamma ray", "délta", "Epsilon"]],
  ["tags:length > {:n}", { n: 1 }, ["beta", "Gamma ray"]],
  ["tags:each ?= {:t} && tags:length = 1", { t: "c" }, ["Epsilon"]],
  ["active = {:b}", { b: true }, ["Alpha", "Gamma ray", "Epsilon"]],
  ["when > {:d}", { d: new Date(Date.UTC(2024, 5, 1)) }, ["beta", "Gamma ray", "Epsilon"]],
  ["when = null", {}, ["délta"]],
  ["title:lower = {:t}", { t: "gamma ray" }, ["Gamma ray"]],
  ["title = {:t}", { t: "délta" }, ["délta"]],
  [
    "n > {:a} && (title ~ {:b} || active = {:c})",
    { a: 1, b: "ta", c: true },
    ["beta", "Gamma ray", "délta", "Epsilon"],
  ],
  ["n ?> {:n}", { n: 4 }, ["Epsilon"]],
  ["title ?~ {:q}", { q: "silon" }, ["Epsilon"]],
];

describe("every filter operator through the SDK's filter option and pb.filter() binding", () => {
  for (const [template, params, expected] of CASES) {
    it(`${template} ${JSON.stringify(params)}`, async () => {
      const filter = guest.filter(template, params);
      const list = await guest.collection("items").getFullList({ filter, sort: "n" });
      expect(list.map((r) => r.title)).toEqual(expected);
    });
  }

  it("a filter that does not parse is a 400 in PocketBase's shape, never a 500", async () => {
    await expect(guest.collection("items").getList(1, 10, { filter: "title = ('x'" })).rejects.toMatchObject({
      status: 400,
    });
    await expect(guest.collection("items").getList(1, 10, { filter: "nope = 1" })).rejects.toMatchObject({
      status: 400,
    });
    await expect(
      guest.collection("items").getList(1, 10, { filter: "@request.auth.id = ''" }),
    ).rejects.toMatchObject({
      status: 403,
    });
  });
});
