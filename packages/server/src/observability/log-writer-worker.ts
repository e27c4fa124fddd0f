// The log writer thread (see log-sink.ts): receives batches of queued entries, prepares and inserts them
// into the auxiliary SQLite file, and answers each batch with its sequence number (and error, if any).
import { parentPort, workerData } from "node:worker_threads";
import { openSqlite } from "../db/index.js";
import { IdPool, prepareEntry, type QueuedEntry } from "./log-entry.js";
import { LogsStore } from "./logs-store.js";

const store = new LogsStore(openSqlite((workerData as { file: string }).file, { synchronous: "NORMAL" }));
const ids = new IdPool();

parentPort?.on("message", (m: { seq: number; batch: QueuedEntry[] }) => {
  store.insert(m.batch.map((p) => prepareEntry(p, ids))).then(
    () => parentPort?.postMessage({ seq: m.seq }),
    (err: unknown) =>
      parentPort?.postMessage({ seq: m.seq, error: err instanceof Error ? err.message : String(err) }),
  );
});
