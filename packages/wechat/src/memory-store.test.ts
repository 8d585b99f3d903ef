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
    // As in Redis, a value lives through the last millisecond of its TTL.
    clock.now += 100;
    expect(await store.get("k")).toBe("v");
    clock.now += 1;
    expect(await store.get("k")).toBeNull();
  });

  it("setIfAbsent sets only an absent or expired key", async () => {
    const { store, clock } = storeAt();
    expect(await store.setIfAbsent("lock", "a", 50)).toBe(true);
    expect(await store.setIfAbsent("lock", "b", 50)).toBe(false);
    expect(await store.get("lock")).toBe("a");
    clock.now += 51;
    expect(await store.setIfAbsent("lock", "b", 50)).toBe(true);
    expect(await store.get("lock")).toBe("b");
  });

  it("deleteIfEquals deletes only the expected value", async () => {
    const { store } = storeAt();
    await store.set("lock", "owner-a", 1000);
    expect(await store.deleteIfEquals("lock", "owner-b")).toBe(false);
    expect(await store.get("lock")).toBe("owner-a");
    expect(await store.deleteIfEquals("lock", "owner-a")).toBe(true);
    expect(await store.get("lock")).toBeNull();
    expect(await store.deleteIfEquals("lock", "owner-a")).toBe(false);
  });

  it("increment counts within a window that starts at the first increment", async () => {
    const { store, clock } = storeAt();
    expect(await store.increment("c", 1000)).toEqual({ count: 1, resetInMs: 1000 });
    clock.now += 400;
    expect(await store.increment("c", 1000)).toEqual({ count: 2, resetInMs: 600 });
    clock.now += 601;
    expect(await store.increment("c", 1000)).toEqual({ count: 1, resetInMs: 1000 });
  });

  it("holds at most maxEntries, forgetting the least recently used first", async () => {
    const store = new MemoryStore({ maxEntries: 3 });
    for (const key of ["a", "b", "c"]) await store.set(key, key, 10_000);
    await store.get("a");
    await store.set("d", "d", 10_000);
    expect(await store.get("b")).toBeNull();
    expect([await store.get("a"), await store.get("c"), await store.get("d")]).toEqual([
      "a",
      "c",
      "d",
    ]);
  });
});
