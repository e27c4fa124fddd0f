// Files bench (issue 12): upload and download throughput of Basalt against a bare node:http server that
// streams the same bytes to and from disk, in the same run; thumbnail latency, first (rendered) and cached;
// the server's RSS while a large upload (generated as it is sent, never held in memory) streams through.
// Each server runs in its own process. Run `npm run build` first, then `node bench/files.mjs`
// (BENCH_FILE_MB, default 64: the size of each upload/download; BENCH_ROUNDS, default 4; BENCH_LARGE_MB,
// default 1024; BENCH_THUMBS, default 5). About a minute on a quiet 2-core machine.
import { fork } from "node:child_process";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

const FILE_MB = Number(process.env.BENCH_FILE_MB ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const LARGE_MB = Number(process.env.BENCH_LARGE_MB ?? 1024);
const THUMBS = Number(process.env.BENCH_THUMBS ?? 5);
const CHUNK = 256 * 1024;
const BOUNDARY = "benchboundary7d0c";

/** A child process: Basalt with a public `blobs` collection taking one large file per record. */
async function serveBasalt() {
  const { mkdtempSync } = await import("node:fs");
  const { pino } = await import("pino");
  const { createApp } = await import("../packages/server/dist/main.js");
  const dataDir = mkdtempSync(join(tmpdir(), "basalt-bench-files-"));
  const basalt = await createApp(
    { dataDir, http: "127.0.0.1:0", logLevel: "silent", publicDir: join(dataDir, "none") },
    pino({ level: "silent" }),
  );
  await basalt.app.collections.create({
    name: "blobs",
    type: "base",
    listRule: "",
    viewRule: "",
    createRule: "",
    fields: [{ name: "file", type: "file", maxSelect: 1, maxSize: 4 * 1024 ** 3, thumbs: ["100x100"] }],
  });
  const url = await basalt.listen();
  reportRss();
  process.send({ url, dataDir });
}

/** A child process: the bare baseline, streaming request bodies to files and files to responses. */
async function serveBare() {
  const { createServer } = await import("node:http");
  const { createReadStream, createWriteStream, mkdtempSync, statSync } = await import("node:fs");
  const dir = mkdtempSync(join(tmpdir(), "bare-bench-files-"));
  let n = 0;
  const server = createServer(async (req, res) => {
    try {
      if (req.method === "POST") {
        const name = `f${++n}`;
        await pipeline(req, createWriteStream(join(dir, name)));
        res.setHeader("content-type", "application/json");
        return res.end(JSON.stringify({ name }));
      }
      const path = join(dir, req.url.slice(1).replace(/[^\w]/g, ""));
      res.setHeader("content-length", statSync(path).size);
      await pipeline(createReadStream(path), res);
    } catch {
      res.statusCode = 500;
      res.end();
    }
  });
  server.listen(0, "127.0.0.1", () => {
    reportRss();
    process.send({ url: `http://127.0.0.1:${server.address().port}`, dataDir: dir });
  });
}

/** Sends this process's RSS to the parent every 100 ms. */
function reportRss() {
  setInterval(() => process.send({ rss: process.memoryUsage().rss }), 100).unref();
}

/** `mb` MiB of bytes made as they are sent (a PNG header first, so the sniffer has something to read). */
function generated(mb) {
  let sent = 0;
  const total = mb * 1024 * 1024;
  const chunk = Buffer.alloc(CHUNK, 7);
  return new Readable({
    read() {
      if (sent >= total) return this.push(null);
      const n = Math.min(CHUNK, total - sent);
      sent += n;
      this.push(n === CHUNK ? chunk : chunk.subarray(0, n));
    },
  });
}

/** POSTs a body stream (chunked); resolves with the parsed JSON answer. */
function post(url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers: { ...headers, "transfer-encoding": "chunked" } });
    req.on("response", (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode !== 200) return reject(new Error(`${res.statusCode} ${text.slice(0, 200)}`));
        resolve(JSON.parse(text));
      });
    });
    req.on("error", reject);
    pipeline(body, req).catch(reject);
  });
}

/** A multipart body around a stream: the part header, the bytes, the closing boundary. */
function multipart(field, filename, stream) {
  const head = `--${BOUNDARY}\r\ncontent-disposition: form-data; name="${field}"; filename="${filename}"\r\ncontent-type: application/octet-stream\r\n\r\n`;
  return Readable.from(
    (async function* () {
      yield Buffer.from(head);
      for await (const c of stream) yield c;
      yield Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
    })(),
  );
}

/** GETs a URL and counts its bytes; resolves with the count. */
function download(url) {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let n = 0;
      res.on("data", (c) => (n += c.length));
      res.on("end", () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`${res.statusCode}`))));
      res.on("error", reject);
    })
      .on("error", reject)
      .end();
  });
}

function start(kind) {
  const child = fork(new URL(import.meta.url), [`serve-${kind}`], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const samples = [];
  return new Promise((resolve, reject) => {
    child.on("message", (m) => {
      if (m.rss) samples.push(m.rss);
      else resolve({ child, url: m.url, dataDir: m.dataDir, samples });
    });
    child.on("exit", (code) => reject(new Error(`${kind} exited ${code}`)));
  });
}

async function stop(server) {
  server.child.removeAllListeners("exit");
  server.child.kill("SIGKILL");
  const { rmSync } = await import("node:fs");
  rmSync(server.dataDir, { recursive: true, force: true });
}

const MB = 1024 * 1024;
const mbps = (bytes, ms) => bytes / MB / (ms / 1000);

/** Upload and download rounds against one server; returns MiB/s each way. */
async function throughput(server, kind) {
  const names = [];
  let t0 = performance.now();
  for (let i = 0; i < ROUNDS; i++) {
    if (kind === "bare") names.push((await post(`${server.url}/`, {}, generated(FILE_MB))).name);
    else {
      const rec = await post(
        `${server.url}/api/collections/blobs/records`,
        { "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
        multipart("file", "data.bin", generated(FILE_MB)),
      );
      names.push(`api/files/blobs/${rec.id}/${rec.file}`);
    }
  }
  const up = mbps(ROUNDS * FILE_MB * MB, performance.now() - t0);
  t0 = performance.now();
  let bytes = 0;
  for (const name of names) bytes += await download(`${server.url}/${name}`);
  const down = mbps(bytes, performance.now() - t0);
  if (bytes !== ROUNDS * FILE_MB * MB) throw new Error(`downloaded ${bytes} bytes`);
  return { up, down };
}

/** RSS (MiB) before, at peak during, and after one large upload. */
async function largeUpload(server, kind) {
  await new Promise((r) => setTimeout(r, 300));
  const before = server.samples.at(-1);
  const from = server.samples.length;
  const t0 = performance.now();
  if (kind === "bare") await post(`${server.url}/`, {}, generated(LARGE_MB));
  else
    await post(
      `${server.url}/api/collections/blobs/records`,
      { "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
      multipart("file", "large.bin", generated(LARGE_MB)),
    );
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 300));
  const during = server.samples.slice(from);
  return {
    before: before / MB,
    peak: Math.max(...during) / MB,
    after: server.samples.at(-1) / MB,
    mbps: mbps(LARGE_MB * MB, ms),
  };
}

/** First (rendered) and cached thumbnail latency over THUMBS different 2400x1600 JPEGs. */
async function thumbs(server) {
  // only this process renders the test images (the servers need not load libvips for it)
  const { default: sharp } = await import("sharp");
  const first = [];
  const cached = [];
  for (let i = 0; i < THUMBS; i++) {
    const jpeg = await sharp({
      create: { width: 2400, height: 1600, channels: 3, background: { r: 20 * i, g: 90, b: 200 - 20 * i } },
    })
      .jpeg({ quality: 90 })
      .toBuffer();
    const rec = await post(
      `${server.url}/api/collections/blobs/records`,
      { "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
      multipart("file", "photo.jpg", Readable.from([jpeg])),
    );
    const url = `${server.url}/api/files/blobs/${rec.id}/${rec.file}?thumb=100x100`;
    let t0 = performance.now();
    await download(url);
    first.push(performance.now() - t0);
    for (let k = 0; k < 5; k++) {
      t0 = performance.now();
      await download(url);
      cached.push(performance.now() - t0);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { first: median(first), cached: median(cached) };
}

async function main() {
  const results = {};
  for (const kind of ["bare", "basalt"]) {
    const server = await start(kind);
    try {
      results[kind] = { ...(await throughput(server, kind)), large: await largeUpload(server, kind) };
      if (kind === "basalt") results.thumbs = await thumbs(server);
    } finally {
      await stop(server);
    }
  }
  const { bare, basalt } = results;
  const f = (x) => x.toFixed(0);
  console.log(`\n${ROUNDS} x ${FILE_MB} MiB each way, one at a time, loopback:\n`);
  console.log("| | bare node:http MiB/s | Basalt MiB/s | ratio |");
  console.log("|---|---|---|---|");
  console.log(`| upload | ${f(bare.up)} | ${f(basalt.up)} | ${(basalt.up / bare.up).toFixed(2)} |`);
  console.log(`| download | ${f(bare.down)} | ${f(basalt.down)} | ${(basalt.down / bare.down).toFixed(2)} |`);
  console.log(`\nOne ${LARGE_MB} MiB upload (generated while sent):\n`);
  console.log("| server | MiB/s | RSS before | RSS peak | RSS after |");
  console.log("|---|---|---|---|---|");
  for (const [name, r] of [
    ["bare node:http", bare.large],
    ["Basalt", basalt.large],
  ])
    console.log(`| ${name} | ${f(r.mbps)} | ${f(r.before)} MiB | ${f(r.peak)} MiB | ${f(r.after)} MiB |`);
  console.log(
    `\nThumbnail 100x100 of a 2400x1600 JPEG, median of ${THUMBS}: first (rendered) ${results.thumbs.first.toFixed(1)} ms, cached ${results.thumbs.cached.toFixed(1)} ms`,
  );
}

if (process.argv[2] === "serve-basalt") await serveBasalt();
else if (process.argv[2] === "serve-bare") await serveBare();
else await main();
