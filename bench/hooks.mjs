// Hooks bench (issue 13, item 12): view-one and create throughput with one no-op handler bound to every
// hook (loaded from a real hook folder, compiled by esbuild) against the same server with none, in the same
// run. Target: ratio >= 0.95. Run `npm run build` first, then `node bench/hooks.mjs` (loopback, ~80 s; BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS).
import { fork } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { measure } from "./pg-kit.mjs";

const ROWS = 2_000;
const DURATION = Number(process.env.BENCH_SECONDS ?? 3);
// the two servers take turns this many times and each keeps its best figure, so a neighbour's burst on a
// shared machine does not decide the ratio (an even number keeps the ABBA order balanced)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const here = fileURLToPath(import.meta.url);
// Linux's USER_HZ, the unit of /proc/<pid>/stat's CPU times (100 on every mainstream kernel build)
const CLOCK_TICKS = 100;

async function serve(dataDir, hooksDir, seed) {
  const { createApp } = await import("../packages/server/dist/main.js");
  const { pino } = await import("pino");
  const basalt = await createApp(
    { dataDir, hooksDir, http: "127.0.0.1:0", logLevel: "silent" },
    pino({ level: "silent" }),
  );
  if (seed) {
    await basalt.collections.create({
      name: "items",
      type: "base",
      listRule: "public = true",
      viewRule: "public = true",
      createRule: "",
      fields: [
        { name: "title", type: "text", required: true, max: 100 },
        { name: "score", type: "number", min: 0 },
        { name: "public", type: "bool" },
      ],
    });
    const app = basalt.app;
    await app.db.transaction(async (tx) => {
      for (let i = 0; i < ROWS; i++) {
        const id = `item${String(i).padStart(11, "0")}`;
        await tx.run("INSERT INTO items (id, title, score, public) VALUES (?, ?, ?, ?)", [
          id,
          `Item ${i}`,
          i,
          true,
        ]);
      }
    });
    const ids = (await app.db.all("SELECT id FROM items LIMIT 500")).map((r) => r.id);
    await basalt.close();
    process.send({ ids });
    return;
  }
  const url = await basalt.start();
  process.send({ url, hooks: basalt.hookFiles.files.length });
}

/** CPU time (user + system, every thread) the process has used, in µs (Linux /proc; 0 elsewhere). */
function cpuMicros(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function child(role, dataDir, hooksDir) {
  const proc = fork(here, [role, dataDir, hooksDir], { stdio: "inherit" });
  return new Promise((resolve, reject) => {
    proc.once("message", (msg) => resolve({ proc, msg }));
    proc.once("error", reject);
    proc.once("exit", (code) => code && reject(new Error(`${role} exited with ${code}`)));
  });
}

async function main() {
  const { HOOK_NAMES } = await import("../packages/server/dist/core/events.js");
  const root = mkdtempSync(join(tmpdir(), "basalt-bench-hooks-"));
  const dataDir = join(root, "data");
  const none = join(root, "no_hooks");
  const some = join(root, "basalt_hooks");
  mkdirSync(none);
  mkdirSync(some);
  writeFileSync(
    join(some, "main.ts"),
    `export default function (app: any) {\n  for (const name of ${JSON.stringify(HOOK_NAMES)}) app[name]((e: any) => e.next());\n}\n`,
  );
  try {
    const { ids } = (await child("seed", dataDir, none)).msg;
    const results = {};
    const pairs = {};
    const cpu = {};
    for (const kase of ["view", "create"]) {
      results[kase] = {};
      pairs[kase] = [];
      cpu[kase] = { none: [], hooks: [] };
      for (let round = 0; round < ROUNDS; round++) {
        // the two take turns in ABBA order, so neither always runs on the table the other just grew
        const order = [
          ["none", none],
          ["hooks", some],
        ];
        if (round % 2 === 1) order.reverse();
        const rps = {};
        for (const [role, dir] of order) {
          const s = await child("serve", dataDir, dir);
          if (role === "hooks" && s.msg.hooks !== 1) throw new Error("the hook file did not load");
          const before = cpuMicros(s.proc.pid);
          const r = await measure(s.msg.url, kase, ids, { duration: DURATION, connections: CONNECTIONS });
          cpu[kase][role].push((cpuMicros(s.proc.pid) - before) / r.served);
          rps[role] = r.rps;
          if (!results[kase][role] || r.rps > results[kase][role].rps) results[kase][role] = r;
          s.proc.kill();
        }
        pairs[kase].push(rps.hooks / rps.none);
      }
    }
    const pad = (s, n) => String(s).padEnd(n);
    console.log(
      `\nhooks bench: one no-op handler on each of ${HOOK_NAMES.length} hooks vs none; ${CONNECTIONS} connections, best of ${ROUNDS} turns of ${DURATION}s per case, node ${process.version}`,
    );
    console.log(
      `${pad("case", 8)}${pad("none req/s", 12)}${pad("p50/p99 ms", 12)}${pad("hooks req/s", 13)}${pad("p50/p99 ms", 12)}${pad("best/best", 11)}${pad("paired median", 15)}cpu µs/req none/hooks`,
    );
    const flag = (x) => `${x.toFixed(2)}${x < 0.95 ? "*" : ""}`;
    for (const [kase, r] of Object.entries(results)) {
      const ratio = r.hooks.rps / r.none.rps;
      const paired = median(pairs[kase]);
      console.log(
        `${pad(kase, 8)}${pad(Math.round(r.none.rps), 12)}${pad(`${r.none.p50}/${r.none.p99}`, 12)}${pad(Math.round(r.hooks.rps), 13)}${pad(`${r.hooks.p50}/${r.hooks.p99}`, 12)}${pad(flag(ratio), 11)}${pad(flag(paired), 15)}${Math.round(median(cpu[kase].none))}/${Math.round(median(cpu[kase].hooks))}`,
      );
    }
    console.log(
      `best/best: each server's best turn; paired median: the median over rounds of hooks/none run back to back; cpu: the server process (all threads) per request, median; * below the 0.95 target; rounds: ${Object.entries(
        pairs,
      )
        .map(([k, v]) => `${k} ${v.map((x) => x.toFixed(2)).join(" ")}`)
        .join("; ")}`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const [role, dataDir, hooksDir] = process.argv.slice(2);
if (role === "seed") await serve(dataDir, hooksDir, true);
else if (role === "serve") await serve(dataDir, hooksDir, false);
else await main();
