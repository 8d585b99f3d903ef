import { Redis } from "ioredis";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { MemoryStore } from "@wxauth/wechat";
import { createStore, type CreateStoreOptions, type StoreHandle } from "./create-store.js";
import { ResilientStore } from "./resilient-store.js";
import {
  PATIENT_COMMAND_TIMEOUT_MS,
  TEST_REDIS_URL,
  ThrowawayRedis,
  deleteTestKeys,
  randomKeyPrefix,
  recordingLogger,
  requireRedis,
  waitFor,
} from "../testing/redis.js";
import { freePort } from "../testing/node-process.js";

// Short enough that a recovery is seen within a test, long enough not to flap.
const PATIENT: CreateStoreOptions = { commandTimeoutMs: PATIENT_COMMAND_TIMEOUT_MS };
const FAST_RECOVERY: CreateStoreOptions = {
  ...PATIENT,
  maxReconnectDelayMs: 100,
  retryAfterMs: 200,
};

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function open(
  url: string | undefined,
  options: CreateStoreOptions = {},
): Promise<StoreHandle & { logger: ReturnType<typeof recordingLogger> }> {
  const logger = recordingLogger();
  const handle = await createStore(url, logger, options);
  cleanups.push(() => handle.close());
  return { ...handle, logger };
}

function rawClient(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on("error", () => {});
  cleanups.push(() => client.quit().catch(() => client.disconnect()));
  return client;
}

/** Every SharedStore method once, checking the answers a caller relies on. */
async function exerciseStore(handle: StoreHandle, tag: string): Promise<void> {
  const { store } = handle;
  await store.set(`${tag}:value`, "v", 60_000);
  expect(await store.get(`${tag}:value`)).toBe("v");
  expect(await store.setIfAbsent(`${tag}:lock`, "owner", 60_000)).toBe(true);
  expect(await store.setIfAbsent(`${tag}:lock`, "intruder", 60_000)).toBe(false);
  expect(await store.deleteIfEquals(`${tag}:lock`, "intruder")).toBe(false);
  expect(await store.deleteIfEquals(`${tag}:lock`, "owner")).toBe(true);
  expect((await store.increment(`${tag}:hits`, 60_000)).count).toBe(1);
  const second = await store.increment(`${tag}:hits`, 60_000);
  expect(second.count).toBe(2);
  expect(second.resetInMs).toBeGreaterThan(0);
  expect(second.resetInMs).toBeLessThanOrEqual(60_000);
}

const errorsLogged = (handle: { logger: ReturnType<typeof recordingLogger> }) =>
  handle.logger.entries.filter((entry) => entry.level === "error");

describe("createStore", () => {
  beforeAll(requireRedis);

  it("is a process-local MemoryStore without a Redis URL", async () => {
    const handle = await open(undefined);
    expect(handle.kind).toBe("memory");
    expect(handle.store).toBeInstanceOf(MemoryStore);
    await exerciseStore(handle, "memory");
  });

  it("uses Redis when it is up, and two instances see each other's writes", async () => {
    const keyPrefix = randomKeyPrefix();
    const raw = rawClient(TEST_REDIS_URL);
    cleanups.push(() => deleteTestKeys(keyPrefix));
    const first = await open(TEST_REDIS_URL, { ...PATIENT, keyPrefix });
    const second = await open(TEST_REDIS_URL, { ...PATIENT, keyPrefix });
    expect(first.kind).toBe("redis");
    expect(first.store).toBeInstanceOf(ResilientStore);

    await exerciseStore(first, "shared");
    expect(await raw.get(`${keyPrefix}shared:value`)).toBe("v");
    expect(await second.store.get("shared:value")).toBe("v");
    expect((await second.store.increment("shared:hits", 60_000)).count).toBe(3);

    const claims = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 ? first : second).store.setIfAbsent("token-lock", `instance-${i % 2}`, 60_000),
      ),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(errorsLogged(first)).toEqual([]);
    expect(first.logger.entries[0]?.msg).toMatch(/Redis/);
  });

  it("serves from memory at once while Redis is unreachable, and says so once", async () => {
    const closedPort = await freePort();
    const started = performance.now();
    const handle = await open(`redis://127.0.0.1:${closedPort}`);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(handle.kind).toBe("redis");
    expect((handle.store as ResilientStore).isDegraded).toBe(true);

    const callsStarted = performance.now();
    await exerciseStore(handle, "offline");
    await Promise.all(Array.from({ length: 200 }, () => handle.store.get("offline:value")));
    expect(performance.now() - callsStarted).toBeLessThan(1000);

    // Exclusivity still holds inside the instance.
    const claims = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        handle.store.setIfAbsent("offline:race", `o${i}`, 60_000),
      ),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);

    const errors = errorsLogged(handle);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toMatch(/Redis is unavailable.*NOT shared/);
  });

  it("survives Redis going away and recovers by itself when it returns", async () => {
    const redis = await ThrowawayRedis.start();
    cleanups.push(() => redis.stop());
    const keyPrefix = randomKeyPrefix();
    const instanceA = await open(redis.url, { ...FAST_RECOVERY, keyPrefix });
    const instanceB = await open(redis.url, { ...FAST_RECOVERY, keyPrefix });
    await instanceA.store.set("before", "1", 60_000);
    expect(await instanceB.store.get("before")).toBe("1");

    await redis.stop();
    const outageStarted = performance.now();
    await exerciseStore(instanceA, "during");
    expect(await instanceA.store.setIfAbsent("lock", "taken-offline", 60_000)).toBe(true);
    expect(performance.now() - outageStarted).toBeLessThan(1000);
    expect(errorsLogged(instanceA)).toHaveLength(1);
    expect((instanceA.store as ResilientStore).isDegraded).toBe(true);

    await redis.start();
    const server = rawClient(redis.url);
    // Recovered once a write through the store lands in the restarted Redis.
    await waitFor(
      async () => {
        await instanceA.store.set("after", "2", 60_000);
        return (await server.get(`${keyPrefix}after`)) === "2";
      },
      { what: "the store to write to Redis again" },
    );
    expect((instanceA.store as ResilientStore).isDegraded).toBe(false);
    expect(instanceA.logger.entries.at(-1)).toMatchObject({
      level: "info",
      msg: expect.stringMatching(/Redis is back/),
    });
    await waitFor(async () => (await instanceB.store.get("after")) === "2", {
      what: "the other instance to read through Redis again",
    });

    // The lock taken locally during the outage is released too, so a later outage finds it free.
    expect(await instanceA.store.deleteIfEquals("lock", "taken-offline")).toBe(true);
    await redis.stop();
    expect(await instanceA.store.setIfAbsent("lock", "next-owner", 60_000)).toBe(true);
  });

  it("treats a Redis too slow to answer as down, for one command timeout, then skips it", async () => {
    const redis = await ThrowawayRedis.start();
    cleanups.push(() => redis.stop());
    const handle = await open(redis.url, {
      keyPrefix: randomKeyPrefix(),
      commandTimeoutMs: 200,
      retryAfterMs: 1000,
    });
    await handle.store.set("k", "from-redis", 60_000);

    const blocker = rawClient(redis.url);
    const blocked = blocker.call("DEBUG", "SLEEP", "1.5");
    await new Promise((resolve) => setTimeout(resolve, 50));

    const first = performance.now();
    // Memory never saw "k": the answer comes from the fallback.
    expect(await handle.store.get("k")).toBeNull();
    expect(performance.now() - first).toBeLessThan(1000);
    const rest = performance.now();
    for (let i = 0; i < 50; i++) await handle.store.get("k");
    expect(performance.now() - rest).toBeLessThan(500);
    expect(errorsLogged(handle)).toHaveLength(1);

    await blocked;
    await waitFor(async () => (await handle.store.get("k")) === "from-redis", {
      what: "reads to reach Redis again",
    });
  });
});
