import { Redis, type Result } from "ioredis";
import type { SharedStore } from "@wxauth/wechat";

/*
 * Both scripts run atomically inside Redis: a GET followed by a DEL from the client could delete
 * a value another instance wrote in between, and an INCR followed by a separate PEXPIRE could leave
 * a counter that never resets if the process died between the two.
 */
const DELETE_IF_EQUALS_LUA = `
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0`;

// A counter found without a TTL (written by hand, or by a crash of an older version) gets one,
// so a rate-limit window can never become permanent.
const INCREMENT_WINDOW_LUA = `
local count = redis.call("INCR", KEYS[1])
local ttl = redis.call("PTTL", KEYS[1])
if count == 1 or ttl < 0 then
  redis.call("PEXPIRE", KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { count, ttl }`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    wxauthDeleteIfEquals(key: string, expected: string): Result<number, Context>;
    wxauthIncrementWindow(key: string, ttlMs: number): Result<[number, number], Context>;
  }
}

export interface RedisStoreOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://…` for TLS. */
  url: string;
  /** Namespaces every key, so several deployments (or test runs) can share one Redis. */
  keyPrefix?: string;
  /** A reply slower than this counts as an outage. Default 300 ms. */
  commandTimeoutMs?: number;
  /** Default 1000 ms. */
  connectTimeoutMs?: number;
  /** Longest pause between background reconnection attempts. Default 2000 ms. */
  maxReconnectDelayMs?: number;
}

export const DEFAULT_KEY_PREFIX = "wxauth:";

/** Redis rejects a PX of 0 or a fraction; a sub-millisecond TTL still means "expire almost at once". */
function toPx(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs));
}

/**
 * `SharedStore` on Redis. It fails fast instead of queueing while Redis is unreachable, so the
 * caller (see `ResilientStore`) can fall back at once; the connection keeps retrying in the background.
 */
export class RedisStore implements SharedStore {
  readonly client: Redis;

  constructor(options: RedisStoreOptions) {
    const maxReconnectDelayMs = options.maxReconnectDelayMs ?? 2000;
    this.client = new Redis(options.url, {
      keyPrefix: options.keyPrefix ?? DEFAULT_KEY_PREFIX,
      lazyConnect: true,
      // A queued command would hang a login for as long as Redis is away.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      // A caller whose command failed has already moved on to the fallback; replaying the command
      // after a reconnection would take a lock nobody holds or count a hit twice.
      autoResendUnfulfilledCommands: false,
      commandTimeout: options.commandTimeoutMs ?? 300,
      connectTimeout: options.connectTimeoutMs ?? 1000,
      // Never give up: the store recovers by itself whenever Redis comes back.
      retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), maxReconnectDelayMs),
    });
    this.client.defineCommand("wxauthDeleteIfEquals", {
      numberOfKeys: 1,
      lua: DELETE_IF_EQUALS_LUA,
    });
    this.client.defineCommand("wxauthIncrementWindow", {
      numberOfKeys: 1,
      lua: INCREMENT_WINDOW_LUA,
    });
    // Without a listener ioredis prints every failed reconnection attempt. Failures reach callers
    // as rejected commands; whoever wants the connection's own errors listens on `client` too.
    this.client.on("error", () => {});
  }

  /** True while commands can be sent; false while (re)connecting. */
  get isReady(): boolean {
    return this.client.status === "ready";
  }

  /**
   * Starts connecting and resolves once the first attempt is over, connected or not: a Redis that is
   * down at boot must not keep the API from starting, and retries go on in the background.
   */
  async connect(): Promise<void> {
    if (this.client.status !== "wait") return;
    await this.client.connect().catch(() => {});
  }

  async close(): Promise<void> {
    if (this.client.status === "end") return;
    if (this.isReady) {
      await this.client.quit().catch(() => this.client.disconnect());
    } else {
      this.client.disconnect();
    }
  }

  async get(key: string): Promise<string | null> {
    return this.client.get(key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.client.set(key, value, "PX", toPx(ttlMs));
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    const reply = await this.client.set(key, value, "PX", toPx(ttlMs), "NX");
    return reply === "OK";
  }

  async deleteIfEquals(key: string, expected: string): Promise<boolean> {
    return (await this.client.wxauthDeleteIfEquals(key, expected)) === 1;
  }

  async increment(key: string, ttlMs: number): Promise<{ count: number; resetInMs: number }> {
    const [count, resetInMs] = await this.client.wxauthIncrementWindow(key, toPx(ttlMs));
    return { count, resetInMs };
  }
}
