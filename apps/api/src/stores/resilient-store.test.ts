import { MemoryStore } from "@wxauth/wechat";
import { beforeEach, describe, expect, it } from "vitest";
import { ResilientStore, type RemoteStore } from "./resilient-store.js";
import { recordingLogger } from "../testing/redis.js";

/*
 * The fallback's bookkeeping (when to log, when to retry the remote) on a clock the test moves.
 * The Redis behaviour itself is tested against real servers in create-store.test.ts.
 */

/** A remote that is a MemoryStore while healthy and throws like a timed-out Redis while not. */
class ControllableRemote extends MemoryStore implements RemoteStore {
  isReady = true;
  failing = false;
  calls = 0;

  override async get(key: string): Promise<string | null> {
    this.calls += 1;
    if (this.failing) throw new Error("Command timed out");
    return super.get(key);
  }
}

const ERROR_INTERVAL_MS = 10_000;
const RETRY_AFTER_MS = 2000;

describe("ResilientStore", () => {
  let now: number;
  let remote: ControllableRemote;
  let fallback: MemoryStore;
  let logger: ReturnType<typeof recordingLogger>;
  let store: ResilientStore;

  const errors = () => logger.entries.filter((entry) => entry.level === "error");
  const infos = () => logger.entries.filter((entry) => entry.level === "info");

  beforeEach(() => {
    now = 1_000_000;
    remote = new ControllableRemote();
    fallback = new MemoryStore();
    logger = recordingLogger();
    store = new ResilientStore(remote, fallback, logger, {
      errorLogIntervalMs: ERROR_INTERVAL_MS,
      retryAfterMs: RETRY_AFTER_MS,
      now: () => now,
    });
  });

  it("serves from the remote while it answers, and logs nothing", async () => {
    await remote.set("k", "remote", 60_000);
    expect(await store.get("k")).toBe("remote");
    expect(store.isDegraded).toBe(false);
    expect(logger.entries).toEqual([]);
  });

  it("logs an outage once per interval, counting the calls served locally meanwhile", async () => {
    remote.isReady = false;
    for (let i = 0; i < 25; i++) await store.get("k");
    expect(errors()).toHaveLength(1);
    expect(errors()[0]?.obj).toMatchObject({ store: "redis", callsServedLocally: 1, outageMs: 0 });

    now += ERROR_INTERVAL_MS - 1;
    await store.get("k");
    expect(errors()).toHaveLength(1);

    now += 1;
    await store.get("k");
    expect(errors()).toHaveLength(2);
    expect(errors()[1]?.obj).toMatchObject({ callsServedLocally: 26, outageMs: ERROR_INTERVAL_MS });
  });

  it("after a failed call skips the remote for a while instead of paying its timeout on every call", async () => {
    remote.failing = true;
    expect(await store.get("k")).toBeNull();
    expect(remote.calls).toBe(1);
    for (let i = 0; i < 10; i++) await store.get("k");
    expect(remote.calls).toBe(1);

    now += RETRY_AFTER_MS;
    remote.failing = false;
    await remote.set("k", "remote", 60_000);
    expect(await store.get("k")).toBe("remote");
    expect(remote.calls).toBe(2);
    expect(store.isDegraded).toBe(false);
    expect(infos()).toHaveLength(1);
    expect(infos()[0]?.msg).toMatch(/Redis is back/);
    expect(infos()[0]?.obj).toMatchObject({ callsServedLocally: 11, outageMs: RETRY_AFTER_MS });
  });

  it("reports connection failures and recoveries even with no calls", () => {
    store.reportRemoteFailure(new Error("connect ECONNREFUSED 127.0.0.1:6379"));
    store.reportRemoteFailure(new Error("connect ECONNREFUSED 127.0.0.1:6379"));
    expect(errors()).toHaveLength(1);
    expect(errors()[0]?.obj).toMatchObject({
      err: { message: "connect ECONNREFUSED 127.0.0.1:6379" },
      callsServedLocally: 0,
    });
    expect(store.isDegraded).toBe(true);
    now += 5000;
    store.reportRemoteReady();
    expect(store.isDegraded).toBe(false);
    expect(infos()[0]?.obj).toMatchObject({ outageMs: 5000 });
  });

  it("a ready connection ends the back-off after a failed call at once", async () => {
    remote.failing = true;
    await store.get("k");
    remote.failing = false;
    store.reportRemoteReady();
    await store.get("k");
    expect(remote.calls).toBe(2);
  });

  it("cannot flood the logs while Redis flaps: one error per interval, one recovery per error", async () => {
    for (let flap = 0; flap < 60; flap++) {
      now += 100;
      store.reportRemoteFailure(new Error("Connection is closed."));
      await store.get("k");
      now += 100;
      store.reportRemoteReady();
    }
    // 60 flaps over 12 s: the first outage, and the first one after the interval has passed.
    expect(errors()).toHaveLength(2);
    expect(infos()).toHaveLength(2);
  });

  it("releases a lock in memory as well as in the remote", async () => {
    remote.isReady = false;
    expect(await store.setIfAbsent("lock", "me", 60_000)).toBe(true);
    remote.isReady = true;
    store.reportRemoteReady();
    expect(await store.deleteIfEquals("lock", "me")).toBe(true);
    remote.isReady = false;
    expect(await store.setIfAbsent("lock", "next", 60_000)).toBe(true);
  });
});
