import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RedisStore } from "./redis-store.js";
import {
  PATIENT_COMMAND_TIMEOUT_MS,
  TEST_REDIS_URL,
  deleteTestKeys,
  randomKeyPrefix,
  requireRedis,
} from "../testing/redis.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("RedisStore", () => {
  // Unprefixed, to look at what the store really wrote.
  let raw: Redis;
  let keyPrefix: string;
  let store: RedisStore;
  let other: RedisStore;

  beforeAll(async () => {
    await requireRedis();
    raw = new Redis(TEST_REDIS_URL);
  });

  afterAll(async () => {
    await raw?.quit();
  });

  beforeEach(async () => {
    keyPrefix = randomKeyPrefix();
    // Two stores, two connections: what two API instances would have.
    const options = {
      url: TEST_REDIS_URL,
      keyPrefix,
      commandTimeoutMs: PATIENT_COMMAND_TIMEOUT_MS,
    };
    store = new RedisStore(options);
    other = new RedisStore(options);
    await Promise.all([store.connect(), other.connect()]);
    expect(store.isReady && other.isReady).toBe(true);
  });

  afterEach(async () => {
    await Promise.all([store.close(), other.close()]);
    await deleteTestKeys(keyPrefix);
  });

  it("sets and gets values under its key prefix, with the TTL given", async () => {
    expect(await store.get("missing")).toBeNull();
    await store.set("token", "v1", 60_000);
    expect(await store.get("token")).toBe("v1");
    expect(await raw.get(`${keyPrefix}token`)).toBe("v1");
    const pttl = await raw.pttl(`${keyPrefix}token`);
    expect(pttl).toBeGreaterThan(59_000);
    expect(pttl).toBeLessThanOrEqual(60_000);

    await store.set("token", "v2", 60_000);
    expect(await store.get("token")).toBe("v2");
  });

  it("expires values after their TTL", async () => {
    // Long enough that the first read lands inside the TTL on a loaded CI machine.
    await store.set("short", "x", 500);
    expect(await store.get("short")).toBe("x");
    await sleep(700);
    expect(await store.get("short")).toBeNull();
  });

  it("rounds sub-millisecond TTLs up instead of failing", async () => {
    await store.set("tiny", "x", 0.4);
    expect(await store.setIfAbsent("tiny-nx", "x", 0.4)).toBe(true);
    await sleep(20);
    expect(await store.get("tiny")).toBeNull();
    expect(await store.get("tiny-nx")).toBeNull();
  });

  it("shares writes between two connections", async () => {
    await store.set("shared", "from-a", 60_000);
    expect(await other.get("shared")).toBe("from-a");
    await other.set("shared", "from-b", 60_000);
    expect(await store.get("shared")).toBe("from-b");
  });

  it("keeps stores with different prefixes apart", async () => {
    const foreign = new RedisStore({
      url: TEST_REDIS_URL,
      keyPrefix: randomKeyPrefix(),
      commandTimeoutMs: PATIENT_COMMAND_TIMEOUT_MS,
    });
    await foreign.connect();
    try {
      await store.set("same-key", "mine", 60_000);
      expect(await foreign.get("same-key")).toBeNull();
    } finally {
      await foreign.close();
    }
  });

  describe("setIfAbsent", () => {
    it("sets only an absent key, and leaves a present one alone", async () => {
      expect(await store.setIfAbsent("lock", "owner-1", 60_000)).toBe(true);
      expect(await store.setIfAbsent("lock", "owner-2", 60_000)).toBe(false);
      expect(await store.get("lock")).toBe("owner-1");
      expect(await raw.pttl(`${keyPrefix}lock`)).toBeGreaterThan(59_000);
    });

    it("lets the key be taken again once it expires", async () => {
      expect(await store.setIfAbsent("lease", "owner-1", 60)).toBe(true);
      await sleep(120);
      expect(await other.setIfAbsent("lease", "owner-2", 60_000)).toBe(true);
      expect(await store.get("lease")).toBe("owner-2");
    });

    it("grants exactly one of 50 concurrent claims over two connections", async () => {
      const claims = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          (i % 2 === 0 ? store : other).setIfAbsent("race", `owner-${i}`, 60_000),
        ),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      const winner = claims.indexOf(true);
      expect(await store.get("race")).toBe(`owner-${winner}`);
    });
  });

  describe("deleteIfEquals", () => {
    it("deletes only while the key still holds the expected value", async () => {
      await store.set("lock", "owner-1", 60_000);
      expect(await other.deleteIfEquals("lock", "owner-2")).toBe(false);
      expect(await store.get("lock")).toBe("owner-1");
      expect(await other.deleteIfEquals("lock", "owner-1")).toBe(true);
      expect(await store.get("lock")).toBeNull();
      expect(await store.deleteIfEquals("lock", "owner-1")).toBe(false);
    });

    it("never releases a lock that expired and was taken by someone else", async () => {
      expect(await store.setIfAbsent("lock", "slow-owner", 50)).toBe(true);
      await sleep(100);
      expect(await other.setIfAbsent("lock", "new-owner", 60_000)).toBe(true);
      expect(await store.deleteIfEquals("lock", "slow-owner")).toBe(false);
      expect(await other.get("lock")).toBe("new-owner");
    });

    it("lets exactly one of many concurrent releases win", async () => {
      await store.set("token", "abc", 60_000);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? store : other).deleteIfEquals("token", "abc"),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });

  describe("increment", () => {
    it("counts within a window that starts at the first hit", async () => {
      const first = await store.increment("hits", 60_000);
      expect(first.count).toBe(1);
      expect(first.resetInMs).toBeGreaterThan(59_000);
      expect(first.resetInMs).toBeLessThanOrEqual(60_000);

      await sleep(30);
      const second = await other.increment("hits", 60_000);
      expect(second.count).toBe(2);
      // The window is not extended by later hits.
      expect(second.resetInMs).toBeLessThan(first.resetInMs);
      expect(second.resetInMs).toBeGreaterThan(58_000);
    });

    it("starts a new window once the old one has expired", async () => {
      // A window long enough that three hits land in it even on a loaded CI machine.
      const windowMs = 1000;
      await store.increment("window", windowMs);
      await store.increment("window", windowMs);
      expect((await store.increment("window", windowMs)).count).toBe(3);
      await sleep(windowMs + 200);
      const fresh = await store.increment("window", windowMs);
      expect(fresh.count).toBe(1);
      expect(fresh.resetInMs).toBeGreaterThan(0);
      expect(fresh.resetInMs).toBeLessThanOrEqual(windowMs);
    });

    it("counts every one of 100 concurrent hits over two connections once", async () => {
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => (i % 2 ? store : other).increment("burst", 60_000)),
      );
      const counts = results.map((r) => r.count).sort((a, b) => a - b);
      expect(counts).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(await raw.pttl(`${keyPrefix}burst`)).toBeGreaterThan(0);
    });

    it("gives a counter that lost its TTL a window again", async () => {
      await raw.set(`${keyPrefix}stuck`, "7");
      const next = await store.increment("stuck", 5000);
      expect(next.count).toBe(8);
      expect(next.resetInMs).toBe(5000);
      expect(await raw.pttl(`${keyPrefix}stuck`)).toBeGreaterThan(0);
    });
  });
});
