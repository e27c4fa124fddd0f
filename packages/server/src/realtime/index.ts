export { subscriberCanSee } from "./access.js";
export { type BrokerDeps, DEFAULT_REALTIME_OPTIONS, RealtimeBroker, type RealtimeOptions } from "./broker.js";
export {
  LocalBus,
  type RealtimeBus,
  type RealtimeControlMessage,
  type RealtimeDirectMessage,
  type RealtimeMessage,
  type RealtimeRecordMessage,
} from "./bus.js";
export { RealtimeClient, type RealtimeOutput } from "./client.js";
export { IpcBus, type IpcBusOptions, WorkersSharedBus } from "./ipc-bus.js";
export {
  addressKey,
  DEFAULT_REALTIME_LIMITS,
  type RealtimeLimits,
  type RealtimeRefusal,
  RealtimeUsage,
} from "./limits.js";
export { PgBus, type PgBusOptions } from "./pg-bus.js";
export type { RedisBus, RedisBusOptions } from "./redis-bus.js";
export { openRedisBus } from "./redis-bus-open.js";
export { MAX_SUBSCRIPTIONS, MAX_TOPIC_LENGTH, parseTopic, type Topic } from "./topics.js";
