// The normal client of the hostile-client suite (issue 10), in a process of its own so the attackers' work
// in the test process cannot delay its clock: it alternates GET /api/health and GET <listPath> on one
// keep-alive connection, a few ms apart, until the parent sends "stop", then answers with the latencies
// (ms) and statuses it saw. Usage: fork(hostile-probe.mjs, [baseUrl, listPath]).
import http from "node:http";

const [base, listPath] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const samples = { health: [], list: [] };
const statuses = {};
let running = true;

function get(path) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.get(`${base}${path}`, { agent, timeout: 30_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode, ms: performance.now() - t0 }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve({ status: 0, ms: performance.now() - t0 }));
  });
}

process.on("message", (msg) => {
  if (msg === "stop") running = false;
});
process.send("started");
while (running) {
  for (const [name, path] of [
    ["health", "/api/health"],
    ["list", listPath],
  ]) {
    const r = await get(path);
    samples[name].push(r.ms);
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  }
  await new Promise((r) => setTimeout(r, 5));
}
agent.destroy();
process.send({ samples, statuses }, () => process.exit(0));
