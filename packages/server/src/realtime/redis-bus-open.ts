import { lazyImport } from "../util/index.js";
import type { RedisBus, RedisBusOptions } from "./redis-bus.js";

// ioredis is loaded only by an instance given a Redis URL, not at start-up (issue 19: about 20 MB of RSS)
const redisBusModule = lazyImport("ioredis", "the Redis realtime bus", () => import("./redis-bus.js"));

/** Loads ioredis and opens the realtime bus on Redis (it connects in the background). */
export async function openRedisBus(options: RedisBusOptions): Promise<RedisBus> {
  const { RedisBus } = await redisBusModule();
  return new RedisBus(options);
}
