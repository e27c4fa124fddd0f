import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

// The worker is inline CommonJS that loads the driver by its resolved path, so it runs the same from the
// TypeScript sources (tests) and from the compiled package, wherever the process was started. It answers
// with a message: null, or the reason a checked file is refused.
const WORKER = `
const { workerData, parentPort } = require("node:worker_threads");
const Database = require(workerData.driver);
if (workerData.op === "copy") {
  const db = new Database(workerData.source, { fileMustExist: true });
  try {
    db.pragma("busy_timeout = 30000");
    db.prepare("VACUUM INTO ?").run(workerData.target);
  } finally {
    db.close();
  }
  parentPort.postMessage(null);
} else {
  let db;
  try {
    db = new Database(workerData.source, { fileMustExist: true, readonly: true });
    const check = db.pragma("quick_check", { simple: true });
    if (check !== "ok") parentPort.postMessage("the database fails SQLite's integrity check");
    else if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(workerData.table))
      parentPort.postMessage("the database has no " + workerData.table + " table");
    else parentPort.postMessage(null);
  } catch (err) {
    parentPort.postMessage("the database cannot be read (" + err.message + ")");
  } finally {
    if (db) db.close();
  }
}
`;

const driverPath = createRequire(import.meta.url).resolve("better-sqlite3");

function runWorker(data: Record<string, string>): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: { driver: driverPath, ...data } });
    let answer: string | null | undefined;
    let failed: Error | undefined;
    worker.once("message", (m: string | null) => {
      answer = m;
    });
    worker.once("error", (err) => {
      failed = err;
    });
    worker.once("exit", (code) => {
      if (failed) reject(failed);
      else if (code !== 0 || answer === undefined)
        reject(new Error(`the SQLite worker thread exited with code ${code}`));
      else resolve(answer);
    });
  });
}

/**
 * Writes a consistent copy of a live SQLite database to `target` (which must not exist) with `VACUUM INTO`,
 * run on a connection of its own in a worker thread: it reads one snapshot of the committed data (WAL lets
 * writers go on meanwhile), never a half-written page as a raw file copy could, and the event loop stays free.
 */
export async function copySqliteFile(source: string, target: string): Promise<void> {
  await runWorker({ op: "copy", source, target });
}

/**
 * Checks, in a worker thread, that a file is a SQLite database that passes `PRAGMA quick_check` and has the
 * table `table`; resolves with null, or the reason it is refused.
 */
export function checkSqliteFile(source: string, table: string): Promise<string | null> {
  return runWorker({ op: "check", source, table });
}
