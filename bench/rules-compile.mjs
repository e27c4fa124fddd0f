// Filter/rule compiler throughput: cold compiles (cache cleared each time) and the cache-hit path that
// every request takes. Run after `npm run build`: node bench/rules-compile.mjs
import { performance } from "node:perf_hooks";
import { sqliteDialect } from "../packages/server/dist/db/index.js";
import {
  clearRulesCache,
  compileFilter,
  compileSort,
  parseFilter,
} from "../packages/server/dist/rules/index.js";

const f = (name, type, extra = {}) => ({
  id: `f_${name}`,
  name,
  type,
  hidden: false,
  system: false,
  ...extra,
});
const users = {
  id: "c_users",
  name: "users",
  type: "auth",
  fields: [
    f("id", "text"),
    f("email", "email"),
    f("emailVisibility", "bool"),
    f("name", "text"),
    f("role", "select"),
  ],
  listRule: "",
};
const posts = {
  id: "c_posts",
  name: "posts",
  type: "base",
  fields: [
    f("id", "text"),
    f("title", "text"),
    f("views", "number"),
    f("published", "bool"),
    f("tags", "select", { maxSelect: 5 }),
    f("author", "relation", { collectionId: "c_users", maxSelect: 1 }),
    f("editors", "relation", { collectionId: "c_users", maxSelect: 5 }),
    f("created", "date"),
  ],
  listRule: '@request.auth.id != "" && (author = @request.auth.id || editors.id ?= @request.auth.id)',
};
const schema = { get: (n) => [users, posts].find((c) => c.id === n || c.name === n) };
const request = {
  auth: { id: "u1aaaaaaaaaaaaa", collectionId: "c_users", collectionName: "users" },
  body: {},
  query: {},
  headers: {},
  method: "GET",
  context: "default",
};
const filter = 'published = true && title ~ "hello" && created > "2024-01-01" && tags:each ?= "news"';
const base = { dialect: sqliteDialect, schema, collection: posts, alias: "r", request };

function typical() {
  compileFilter({ ...base, text: posts.listRule, mode: "rule", isSuperuser: false });
  compileFilter({ ...base, text: filter, mode: "client", isSuperuser: false });
  compileSort({ ...base, text: "-created,author.name", isSuperuser: false });
}

function measure(label, iterations, fn) {
  for (let i = 0; i < Math.min(1000, iterations); i++) fn();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  const ms = performance.now() - start;
  const per = (ms * 1000) / iterations;
  console.log(
    `${label.padEnd(44)} ${Math.round(iterations / (ms / 1000))
      .toLocaleString("en")
      .padStart(12)} /s  ${per.toFixed(2).padStart(8)} µs each`,
  );
}

console.log("rules compile (rule + client filter + sort per iteration)");
measure("parse only (filter text)", 50_000, () => parseFilter(filter));
measure("cold: rule + filter + sort, cache cleared", 5_000, () => {
  clearRulesCache();
  typical();
});
measure("hit: rule + filter + sort from the cache", 200_000, typical);
measure("hit: one client filter", 500_000, () =>
  compileFilter({ ...base, text: filter, mode: "client", isSuperuser: false }),
);
