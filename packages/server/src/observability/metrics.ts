import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { statementKind } from "../db/index.js";
import { BucketHistogram, type HistogramSeries } from "./bucket-histogram.js";

/** Where the scrape-time figures come from (read only when Prometheus scrapes). */
export interface MetricsSources {
  realtime(): { clients: number; subscriptions: number; dropped: number };
  jobs(): Promise<{
    queues: Record<string, { pending: number; running: number; dead: number; oldestPendingAgeMs: number }>;
    processed: { completed: number; failed: number; retried: number; dead: number };
  }>;
  webhooks(): { delivered: number; failed: number; retried: number; blocked: number };
  logs(): { buffered: number; dropped: number; written: number };
  rulesCache(): { hits: number; misses: number };
}

const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DB_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5,
];
const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/** A counter that mirrors a monotonic number kept elsewhere: each scrape adds what it grew by. */
function mirroredCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => Record<string, number> | Promise<Record<string, number>>,
  label: string,
): void {
  const seen = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      const now = await read();
      for (const [key, value] of Object.entries(now)) {
        // every outcome is shown from the first scrape on, at 0 until it happens
        const delta = Math.max(0, value - (seen.get(key) ?? 0));
        if (labelNames.length) this.labels({ [label]: key }).inc(delta);
        else this.inc(delta);
        seen.set(key, value);
      }
    },
  });
}

/**
 * Basalt's Prometheus metrics (`/api/metrics`): request durations by method, route template and status
 * class; requests in flight; query durations by statement kind; rule-compile cache; realtime; jobs and
 * webhooks; request logs; process and event-loop figures. Recording costs a few map look-ups per request.
 */
export class Metrics {
  readonly registry = new Registry();
  private inFlight = 0;
  private readonly http: BucketHistogram;
  private readonly routes = new Map<string, Map<string, (HistogramSeries | undefined)[]>>();
  private readonly db: Record<string, HistogramSeries>;

  constructor(sources: MetricsSources) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry, prefix: "basalt_" });
    this.http = new BucketHistogram(
      registry,
      "basalt_http_request_duration_seconds",
      "HTTP request duration by method, route template and status class.",
      HTTP_BUCKETS,
    );
    const inFlight = () => this.inFlight;
    // read at scrape time: requests only move a plain integer
    new Gauge({
      name: "basalt_http_requests_in_flight",
      help: "HTTP requests being served.",
      registers: [registry],
      collect() {
        this.set(inFlight());
      },
    });
    const db = new BucketHistogram(
      registry,
      "basalt_db_query_duration_seconds",
      "Database statement duration by kind (select, insert, update, delete, other).",
      DB_BUCKETS,
    );
    this.db = Object.fromEntries(
      ["select", "insert", "update", "delete", "other"].map((k) => [k, db.createSeries({ kind: k })]),
    );
    mirroredCounter(
      registry,
      "basalt_rules_compile_cache_total",
      "Compiled filter and rule look-ups by result (hit, miss).",
      ["result"],
      () => {
        const s = sources.rulesCache();
        return { hit: s.hits, miss: s.misses };
      },
      "result",
    );
    new Gauge({
      name: "basalt_realtime_clients",
      help: "Connected realtime (SSE) clients on this instance.",
      registers: [registry],
      collect() {
        this.set(sources.realtime().clients);
      },
    });
    new Gauge({
      name: "basalt_realtime_subscriptions",
      help: "Subscriptions held by this instance's realtime clients.",
      registers: [registry],
      collect() {
        this.set(sources.realtime().subscriptions);
      },
    });
    mirroredCounter(
      registry,
      "basalt_realtime_dropped_clients_total",
      "Realtime clients disconnected for exceeding a limit.",
      [],
      () => ({ dropped: sources.realtime().dropped }),
      "",
    );
    this.jobMetrics(sources);
    mirroredCounter(
      registry,
      "basalt_webhook_deliveries_total",
      "Outbound webhook delivery attempts by outcome (delivered, failed, retried, blocked).",
      ["outcome"],
      () => sources.webhooks(),
      "outcome",
    );
    new Gauge({
      name: "basalt_logs_buffered",
      help: "Request and application log entries waiting to be written.",
      registers: [registry],
      collect() {
        this.set(sources.logs().buffered);
      },
    });
    mirroredCounter(
      registry,
      "basalt_logs_dropped_total",
      "Log entries dropped because the buffer was full or the store failed.",
      [],
      () => ({ dropped: sources.logs().dropped }),
      "",
    );
  }

  private jobMetrics(sources: MetricsSources): void {
    const registry = this.registry;
    // one query per scrape, shared by the three gauges
    let pending: ReturnType<MetricsSources["jobs"]> | undefined;
    const stats = () => {
      pending ??= sources.jobs().finally(() => {
        setImmediate(() => {
          pending = undefined;
        });
      });
      return pending;
    };
    const perQueue = (
      name: string,
      help: string,
      pick: (q: { pending: number; oldestPendingAgeMs: number; dead: number }) => number,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ["queue"],
        registers: [registry],
        async collect() {
          const s = await stats();
          this.reset();
          for (const [queue, q] of Object.entries(s.queues)) this.labels({ queue }).set(pick(q));
        },
      });
    perQueue("basalt_jobs_pending", "Jobs waiting in each queue.", (q) => q.pending);
    perQueue(
      "basalt_jobs_oldest_pending_age_seconds",
      "Age of the oldest due job in each queue.",
      (q) => q.oldestPendingAgeMs / 1000,
    );
    perQueue("basalt_jobs_dead", "Jobs that used up their attempts, per queue.", (q) => q.dead);
    mirroredCounter(
      registry,
      "basalt_jobs_processed_total",
      "Job attempts run by this process, by outcome (completed, failed, retried, dead).",
      ["outcome"],
      async () => (await stats()).processed,
      "outcome",
    );
  }

  /** Counts a request as started. */
  requestStarted(): void {
    this.inFlight++;
  }

  /** Records a finished request; `route` is the route template (never the raw URL). */
  requestFinished(method: string, route: string, status: number, seconds: number): void {
    this.inFlight--;
    let byMethod = this.routes.get(route);
    if (!byMethod) {
      byMethod = new Map();
      this.routes.set(route, byMethod);
    }
    let children = byMethod.get(method);
    if (!children) {
      children = [];
      byMethod.set(method, children);
    }
    let cls = Math.floor(status / 100) - 1;
    if (!(cls >= 0 && cls < 5)) cls = 4;
    let child = children[cls];
    if (!child) {
      child = this.http.createSeries({ method, route, status: STATUS_CLASSES[cls] });
      children[cls] = child;
    }
    child.observe(seconds);
  }

  /** Records one statement's duration. */
  queryFinished(sql: string, seconds: number): void {
    this.db[statementKind(sql)].observe(seconds);
  }

  /** The exposition text. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  /** The exposition's content type. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
