import { describe, expect, it } from "vitest";
import { MemoryStore } from "./memory-store.js";

function storeAt(start = 1_000) {
  const clock = { now: start };
  const store = new MemoryStore({ now: () => clock.now });
  return { store, clock };
}

describe("MemoryStore", () => {
  it("expires values after their TTL", async () => {
    const { store, clock } = storeAt();
    await store.set("k", "v", 100);
    expect(await store.get("k")).toBe("v");
    clock.now += 100;
    expect(await store.get("k")).toBeNull();
    store.close();
  });

  it("setIfAbsent sets only an absent or expired key", async () => {
    const { store, clock } = storeAt();
    expect(await store.setIfAbsent("lock", "a", 50)).toBe(true);
    expect(await store.setIfAbsent("lock", "b", 50)).toBe(false);
    expect(await store.get("lock")).toBe("a");
    clock.now += 50;
    expect(await store.setIfAbsent("lock", "b", 50)).toBe(true);
    expect(await store.get("lock")).toBe("b");
    store.close();
  });

  it("deleteIfEquals deletes only the expected value", async () => {
    const { store } = storeAt();
    await store.set("lock", "owner-a", 1000);
    expect(await store.deleteIfEquals("lock", "owner-b")).toBe(false);
    expect(await store.get("lock")).toBe("owner-a");
    expect(await store.deleteIfEquals("lock", "owner-a")).toBe(true);
    expect(await store.get("lock")).toBeNull();
    expect(await store.deleteIfEquals("lock", "owner-a")).toBe(false);
    store.close();
  });

  it("increment counts within a window that starts at the first increment", async () => {
    const { store, clock } = storeAt();
    expect(await store.increment("c", 1000)).toEqual({ count: 1, resetInMs: 1000 });
    clock.now += 400;
    expect(await store.increment("c", 1000)).toEqual({ count: 2, resetInMs: 600 });
    clock.now += 600;
    expect(await store.increment("c", 1000)).toEqual({ count: 1, resetInMs: 1000 });
    store.close();
  });

  it("sweeps expired entries nobody reads again", async () => {
    const clock = { now: 0 };
    const store = new MemoryStore({ now: () => clock.now, sweepIntervalMs: 10 });
    for (let i = 0; i < 100; i++) await store.set(`code-${i}`, "x", 50);
    await store.set("kept", "x", 10_000);
    clock.now = 60;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(store.size).toBe(1);
    store.close();
  });
});
