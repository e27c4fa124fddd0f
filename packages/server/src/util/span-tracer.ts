/** Attributes a span may carry. */
export type SpanAttributes = Record<string, string | number | boolean>;

/** What a span stands for, in OpenTelemetry's terms. */
export type SpanKindName = "internal" | "client" | "consumer";

/**
 * The tracing seam services below `observability/` use (jobs, webhooks, e-mail, hooks): run work in a child
 * span of the current one, and add the current trace's `traceparent` to outbound headers.
 */
export interface SpanTracer {
  /**
   * Runs `fn` in a span named `name`; the span ends when `fn` settles and records its error. `fn` may add
   * attributes learnt on the way (a response status) through its argument. The span is a child of the
   * current one, or of the span a W3C trace-context carrier names (`parent`, as {@link inject} wrote it —
   * a job continuing the trace of the request that enqueued it).
   */
  span<T>(
    name: string,
    attributes: SpanAttributes,
    fn: (set: (attributes: SpanAttributes) => void) => Promise<T> | T,
    kind?: SpanKindName,
    parent?: Readonly<Record<string, string>>,
  ): Promise<T>;
  /** Adds W3C trace-context headers (`traceparent`, `tracestate`) for the current span. */
  inject(headers: Record<string, string>): void;
}

/** The tracer used when tracing is off: runs the work, adds nothing. */
export const NO_TRACER: SpanTracer = {
  span: async (_name, _attributes, fn) => fn(() => undefined),
  inject: () => undefined,
};
