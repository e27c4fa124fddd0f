import { lazyImport } from "../util/index.js";
import type { RedisRateLimitStore, RedisRateLimitStoreOptions } from "./rate-limit-redis-store.js";

// ioredis is loaded only by an instance given a Redis URL, not at start-up (issue 19: memory)
const storeModule = lazyImport(
  "ioredis",
  "rate limits shared through Redis",
  () => import("./rate-limit-redis-store.js"),
);

/** Loads ioredis and opens the rate-limit counters on Redis (it connects in the background). */
export async function openRedisRateLimitStore(
  options: RedisRateLimitStoreOptions,
): Promise<RedisRateLimitStore> {
  const { RedisRateLimitStore } = await storeModule();
  return new RedisRateLimitStore(options);
}
