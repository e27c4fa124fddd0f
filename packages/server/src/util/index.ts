export { crc32 } from "./crc32.js";
export { formatDateTime, nowDateTime, parseDateTime } from "./datetime.js";
export { htmlToText } from "./html-text.js";
export { findInputProblem, type InputProblem, MAX_INPUT_DEPTH } from "./input-shape.js";
export {
  type ClusterMessage,
  clusterMessage,
  type ForwardedAnswer,
  type IpcChannel,
  type IpcRateWindow,
  parentChannel,
} from "./ipc-channel.js";
export { lazyImport } from "./lazy-import.js";
export { compileLinearPattern, type LinearPattern } from "./linear-pattern.js";
export { Mutex } from "./mutex.js";
export { FORBIDDEN_KEYS, isPlainObject, safeKeys } from "./object.js";
export { ID_ALPHABET, newRecordId, randomString } from "./random.js";
export { Semaphore } from "./semaphore.js";
export { NO_TRACER, type SpanAttributes, type SpanKindName, type SpanTracer } from "./span-tracer.js";
export { DEFAULT_SLICE_MS, TurnSlicer } from "./turn-slicer.js";
export { settlesWithin } from "./within.js";
