import { MemoryStore, type SharedStore } from "@wxauth/wechat";
import { RedisStore, type RedisStoreOptions } from "./redis-store.js";
import { ResilientStore, type ResilientStoreOptions, type StoreLogger } from "./resilient-store.js";

export interface StoreHandle {
  /** Pass this one instance to the WeChat client and to the rate limiter. */
  store: SharedStore;
  /** `memory` without `REDIS_URL`; `redis` otherwise, even while Redis is down at boot. */
  kind: "memory" | "redis";
  /** Asks Redis itself (not the fallback) for PONG; absent for the in-process store. */
  pingRedis?: () => Promise<void>;
  close(): Promise<void>;
}

export type CreateStoreOptions = Omit<RedisStoreOptions, "url"> & ResilientStoreOptions;

/** The URL without its password, for logs. */
function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparsable REDIS_URL)";
  }
}

/**
 * Without a Redis URL: a process-local store (one instance). With one: Redis, falling back to memory
 * while Redis is unreachable. Resolves after the first connection attempt, so a healthy Redis is used
 * from the very first request and a dead one is reported at boot rather than on the first login.
 */
export async function createStore(
  redisUrl: string | undefined,
  logger: StoreLogger,
  options: CreateStoreOptions = {},
): Promise<StoreHandle> {
  if (!redisUrl) {
    return { store: new MemoryStore(), kind: "memory", close: async () => {} };
  }
  const redis = new RedisStore({ ...options, url: redisUrl });
  const fallback = new MemoryStore();
  const store = new ResilientStore(redis, fallback, logger, options);
  // Outages and recoveries are reported as they happen, not only when a request notices them.
  redis.client.on("error", (error: Error) => store.reportRemoteFailure(error));
  redis.client.on("ready", () => store.reportRemoteReady());
  logger.info({ store: "redis", url: describeRedisUrl(redisUrl) }, "shared store: Redis");
  await redis.connect();
  return {
    store,
    kind: "redis",
    pingRedis: async () => {
      await redis.client.ping();
    },
    close: () => redis.close(),
  };
}
