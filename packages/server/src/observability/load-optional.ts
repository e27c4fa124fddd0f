import { lazyImport } from "../util/index.js";
import type { Metrics, MetricsSources } from "./metrics.js";
import type { Tracing } from "./tracing.js";

// Metrics (prom-client) and tracing (the OpenTelemetry SDK) are loaded only when they are turned on, not at
// start-up (issue 19: together about 30 MB of RSS an instance without them does not need).
const metricsModule = lazyImport("prom-client", "Prometheus metrics", () => import("./metrics.js"));
const tracingModule = lazyImport(
  "@opentelemetry/sdk-trace-base",
  "OpenTelemetry tracing",
  () => import("./tracing.js"),
);

/** Loads prom-client and makes the metrics of an app reading its figures from `sources`. */
export async function createMetrics(sources: MetricsSources): Promise<Metrics> {
  const { Metrics } = await metricsModule();
  return new Metrics(sources);
}

/** Loads the OpenTelemetry SDK and makes an app's tracing (exporting as the `OTEL_*` variables say). */
export async function createTracing(serviceVersion: string): Promise<Tracing> {
  const { Tracing } = await tracingModule();
  return new Tracing(serviceVersion);
}
