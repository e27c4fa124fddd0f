import cluster, { type Worker } from "node:cluster";
import { BasaltError } from "../errors/index.js";
import { type ClusterMessage, clusterMessage } from "../util/index.js";
import { WorkersHub } from "./workers-hub.js";

/** Options of the workers supervisor. */
export interface SupervisorOptions {
  /** How many worker processes to keep running. */
  readonly count: number;
  /** Extra environment variables of every worker. */
  readonly env: Record<string, string>;
  /** How long a worker may take to drain on SIGTERM before it is killed, in milliseconds. */
  readonly shutdownTimeoutMs: number;
  /** Where the supervisor's own lines go (one event per line). */
  readonly print: (line: string) => void;
  /** How long a worker may take to start listening, in milliseconds (default 60 s). */
  readonly startTimeoutMs?: number;
}

interface Slot {
  worker: Worker;
  /** Consecutive crashes of this slot, for the restart backoff. */
  crashes: number;
  readyAt: number;
}

// A worker that served this long before crashing starts again at once; quicker crashes back off.
const STABLE_MS = 30_000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/** The restart delay after a slot's `crashes`-th consecutive crash: 0.5 s, 1 s, 2 s … up to 30 s. */
export function restartDelay(crashes: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, crashes - 1));
}

/**
 * The primary process of `basalt serve --workers N` (issue 19): forks N workers of this same command line
 * (node:cluster; they share the listening socket, which the primary hands out round-robin), relays their
 * shared state through a WorkersHub, restarts a worker that dies with a growing delay, replaces them one by
 * one on `rollingRestart()`, and on `stop()` asks each to drain (SIGTERM) and waits for them. The primary
 * itself serves no requests and holds no database.
 */
export class WorkerSupervisor {
  private readonly hub = new WorkersHub();
  private readonly slots: Slot[] = [];
  /** Workers being replaced or stopped on purpose: their exit is not a crash. */
  private readonly retiring = new Set<number>();
  private stopping = false;
  private rolling: Promise<void> | undefined;

  constructor(private readonly options: SupervisorOptions) {}

  /** Forks every worker and resolves with the URL they listen on once all do; rejects if one fails to start. */
  async start(): Promise<string> {
    const started = await Promise.allSettled(Array.from({ length: this.options.count }, () => this.fork()));
    const failed = started.find((s) => s.status === "rejected");
    if (failed) {
      await this.stop();
      throw (failed as PromiseRejectedResult).reason;
    }
    const first = started[0] as PromiseFulfilledResult<{ worker: Worker; url: string }>;
    for (const s of started as PromiseFulfilledResult<{ worker: Worker; url: string }>[]) {
      const slot: Slot = { worker: s.value.worker, crashes: 0, readyAt: Date.now() };
      this.slots.push(slot);
      this.watch(slot);
    }
    return first.value.url;
  }

  /** The workers' process ids, in slot order. */
  get pids(): number[] {
    return this.slots.map((s) => s.worker.process.pid ?? 0);
  }

  /**
   * Replaces the workers one at a time: a new worker starts and listens before the old one drains, so the
   * port keeps being served. A replacement that fails to start ends the restart; the old worker stays.
   */
  rollingRestart(): Promise<void> {
    this.rolling ??= (async () => {
      try {
        for (const slot of this.slots) {
          if (this.stopping) return;
          const old = slot.worker;
          let fresh: { worker: Worker; url: string };
          try {
            fresh = await this.fork();
          } catch (err) {
            this.options.print(
              `Rolling restart stopped: ${err instanceof Error ? err.message : String(err)}`,
            );
            return;
          }
          slot.worker = fresh.worker;
          slot.crashes = 0;
          slot.readyAt = Date.now();
          this.watch(slot);
          await this.retire(old);
          this.options.print(
            `Worker ${old.process.pid} replaced by ${fresh.worker.process.pid} (rolling restart).`,
          );
        }
      } finally {
        this.rolling = undefined;
      }
    })();
    return this.rolling;
  }

  /** Asks every worker to drain and waits until all have exited; resolves true when each exited cleanly. */
  async stop(): Promise<boolean> {
    this.stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const results = await Promise.all(workers.map((w) => this.retire(w)));
    return results.every(Boolean);
  }

  /** Sends SIGTERM and waits for the exit (SIGKILL after the drain time); true on exit code 0. */
  private retire(worker: Worker): Promise<boolean> {
    this.retiring.add(worker.id);
    return new Promise((resolve) => {
      if (worker.isDead()) {
        resolve(worker.process.exitCode === 0);
        return;
      }
      const timer = setTimeout(() => worker.process.kill("SIGKILL"), this.options.shutdownTimeoutMs + 5_000);
      worker.once("exit", (code) => {
        clearTimeout(timer);
        resolve(code === 0);
      });
      worker.process.kill("SIGTERM");
    });
  }

  /** Forks one worker and resolves once it listens; rejects when it exits (or stalls) before that. */
  private fork(): Promise<{ worker: Worker; url: string }> {
    const worker = cluster.fork(this.options.env);
    // a channel error (a write to a worker that just died) must not take the primary down with it
    worker.on("error", (err: Error) => this.options.print(`Worker ${worker.process.pid}: ${err.message}`));
    worker.on("message", (raw: unknown) => this.hub.receive(this.member(worker), raw));
    worker.once("exit", () => this.hub.leave(worker.id));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.process.kill("SIGKILL");
        reject(new BasaltError("BASALT_ERR_SERVE_WORKER_FAILED", "(it did not listen in time)"));
      }, this.options.startTimeoutMs ?? 60_000);
      const onMessage = (raw: unknown) => {
        const m = clusterMessage(raw);
        if (m?.basalt !== "ready") return;
        clearTimeout(timer);
        worker.off("message", onMessage);
        worker.off("exit", onExit);
        resolve({ worker, url: m.url });
      };
      const onExit = (code: number | null, signal: string | null) => {
        clearTimeout(timer);
        worker.off("message", onMessage);
        reject(
          new BasaltError(
            "BASALT_ERR_SERVE_WORKER_FAILED",
            `(pid ${worker.process.pid} exited with ${signal ?? `code ${code}`}; its error is printed above)`,
          ),
        );
      };
      worker.on("message", onMessage);
      worker.once("exit", onExit);
    });
  }

  /** Restarts the slot's worker when it dies unasked, after a delay that grows with quick repeated crashes. */
  private watch(slot: Slot): void {
    const worker = slot.worker;
    worker.once("exit", (code, signal) => {
      if (this.retiring.delete(worker.id) || this.stopping || slot.worker !== worker) return;
      slot.crashes = Date.now() - slot.readyAt >= STABLE_MS ? 1 : slot.crashes + 1;
      const delay = restartDelay(slot.crashes);
      this.options.print(
        `Worker ${worker.process.pid} exited with ${signal ?? `code ${code}`}; starting a new one in ${delay} ms.`,
      );
      // not unref'd: with every worker down, this timer is what keeps the primary alive
      setTimeout(() => void this.replace(slot), delay);
    });
  }

  private async replace(slot: Slot): Promise<void> {
    // a rolling restart may have filled the slot while this restart waited out its delay
    if (this.stopping || !slot.worker.isDead()) return;
    try {
      const fresh = await this.fork();
      if (this.stopping) {
        await this.retire(fresh.worker);
        return;
      }
      slot.worker = fresh.worker;
      slot.readyAt = Date.now();
      this.watch(slot);
      this.options.print(`Worker ${fresh.worker.process.pid} started.`);
    } catch (err) {
      slot.crashes++;
      const delay = restartDelay(slot.crashes);
      this.options.print(
        `A new worker failed to start (${err instanceof Error ? err.message : String(err)}); retrying in ${delay} ms.`,
      );
      setTimeout(() => void this.replace(slot), delay);
    }
  }

  private member(worker: Worker): { id: number; send(message: ClusterMessage): boolean } {
    return {
      id: worker.id,
      // true once the channel took the message: `worker.send` also answers false when its backlog is long,
      // yet the message is still delivered, and the hub took that false for "never sent" (a forwarded
      // subscription then got a 404 under load); a channel that closes later ends in `leave` instead
      send: (message) => {
        if (!worker.isConnected()) return false;
        try {
          worker.send(message);
          return true;
        } catch {
          return false;
        }
      },
    };
  }
}
