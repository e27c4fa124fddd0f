import { AsyncLocalStorage } from "node:async_hooks";
import {
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { SpanAttributes, SpanKindName, SpanTracer } from "../util/index.js";

const KINDS: Record<SpanKindName, SpanKind> = {
  internal: SpanKind.INTERNAL,
  client: SpanKind.CLIENT,
  consumer: SpanKind.CONSUMER,
};

const headerGetter: TextMapGetter<Record<string, string | string[] | undefined>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};
const headerSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/**
 * OpenTelemetry tracing for one app: spans exported over OTLP/HTTP (JSON) as the `OTEL_*` variables
 * configure (endpoint, headers, timeout, sampler, batch delays, service name and resource attributes). The
 * current span lives in this app's own AsyncLocalStorage, so nothing global is registered and several apps
 * in one process keep their traces apart.
 */
export class Tracing implements SpanTracer {
  private readonly provider: BasicTracerProvider;
  private readonly tracer: Tracer;
  private readonly current = new AsyncLocalStorage<Context>();
  private readonly propagator = new W3CTraceContextPropagator();

  constructor(serviceVersion: string) {
    const resource = resourceFromAttributes({
      "service.name": process.env.OTEL_SERVICE_NAME || "basalt",
      "service.version": serviceVersion,
    }).merge(detectResources({ detectors: [envDetector] }));
    this.provider = new BasicTracerProvider({
      resource,
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
    });
    this.tracer = this.provider.getTracer("basalt", serviceVersion);
  }

  /** The context of the current span (the root context outside any). */
  active(): Context {
    return this.current.getStore() ?? ROOT_CONTEXT;
  }

  /** The current span, if any. */
  activeSpan(): Span | undefined {
    return trace.getSpan(this.active());
  }

  /** Starts a server span for an incoming request, continuing the caller's `traceparent` when valid. */
  startServerSpan(
    name: string,
    headers: Record<string, string | string[] | undefined>,
    attributes: SpanAttributes,
  ): Context {
    const parent = this.propagator.extract(ROOT_CONTEXT, headers, headerGetter);
    const span = this.tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
    return trace.setSpan(parent, span);
  }

  /** Runs `fn` with `ctx` as the current context (everything it starts inherits it). */
  runIn<T>(ctx: Context, fn: () => T): T {
    return this.current.run(ctx, fn);
  }

  /** Starts a child span of the current one, or nothing when there is no current span. */
  startChild(name: string, attributes: SpanAttributes, kind: SpanKindName = "internal"): Span | undefined {
    const ctx = this.current.getStore();
    if (!ctx || !trace.getSpan(ctx)) return undefined;
    return this.tracer.startSpan(name, { kind: KINDS[kind], attributes }, ctx);
  }

  async span<T>(
    name: string,
    attributes: SpanAttributes,
    fn: (set: (attributes: SpanAttributes) => void) => Promise<T> | T,
    kind: SpanKindName = "internal",
    parent?: Readonly<Record<string, string>>,
  ): Promise<T> {
    const context = parent ? this.propagator.extract(ROOT_CONTEXT, parent, headerGetter) : this.active();
    const span = this.tracer.startSpan(name, { kind: KINDS[kind], attributes }, context);
    try {
      return await this.current.run(trace.setSpan(context, span), () => fn((a) => span.setAttributes(a)));
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  /** Marks a span failed with an error (its message and type, never request data). */
  fail(span: Span, err: unknown): void {
    failSpan(span, err);
  }

  /** The trace id of a context's span, if it has one (for the access log). */
  traceIdOf(ctx: Context): string | undefined {
    return trace.getSpan(ctx)?.spanContext().traceId;
  }

  /** Ends a request's server span with its HTTP status (5xx marks it failed). */
  endServerSpan(ctx: Context, status: number): void {
    const span = trace.getSpan(ctx);
    if (!span) return;
    span.setAttribute("http.response.status_code", status);
    if (status >= 500) failSpan(span, new Error(`HTTP ${status}`));
    span.end();
  }

  inject(headers: Record<string, string>): void {
    this.propagator.inject(this.active(), headers, headerSetter);
  }

  /** Exports every ended span now. */
  flush(): Promise<void> {
    return this.provider.forceFlush();
  }

  /** Exports what is left and stops. */
  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}

/** Marks a span failed with an error (its message and type, never request data). */
export function failSpan(span: Span, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  span.recordException({ name: e.name, message: e.message });
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
}
