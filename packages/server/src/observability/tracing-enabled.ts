/**
 * True when the standard OpenTelemetry variables ask for traces over OTLP: an OTLP endpoint is set or
 * `OTEL_TRACES_EXPORTER` names `otlp`, and `OTEL_SDK_DISABLED` is not `true`. Off by default.
 */
export function tracingEnabled(env: NodeJS.ProcessEnv): boolean {
  if ((env.OTEL_SDK_DISABLED ?? "").trim().toLowerCase() === "true") return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "").toLowerCase();
  if (exporters.split(",").some((e) => e.trim() === "none")) return false;
  return (
    exporters.split(",").some((e) => e.trim() === "otlp") ||
    Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT)
  );
}
