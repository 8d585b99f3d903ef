import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { OffHeapTtlMap, type OffHeapTtlMapOptions } from "./off-heap-ttl-map.js";

const digestOf = (name: string) => createHash("sha256").update(name).digest();

function mapAt(options: Partial<OffHeapTtlMapOptions> = {}) {
  const clock = { now: 1_000_000 };
  const map = new OffHeapTtlMap({ ttlMs: 60_000, now: () => clock.now, ...options });
  return { map, clock };
}

describe("OffHeapTtlMap", () => {
  it("answers what was set under a digest, and nothing for another", () => {
    const { map } = mapAt();
    map.set(digestOf("a"), '{"ok":true}');
    map.set(digestOf("b"), "代码 ünïcode");
    expect(map.get(digestOf("a"))).toBe('{"ok":true}');
    expect(map.get(digestOf("b"))).toBe("代码 ünïcode");
    expect(map.get(digestOf("c"))).toBeUndefined();
  });

  it("forgets an entry ttlMs after it was set", () => {
    const { map, clock } = mapAt();
    map.set(digestOf("a"), "first");
    clock.now += 59_999;
    expect(map.get(digestOf("a"))).toBe("first");
    clock.now += 1;
    expect(map.get(digestOf("a"))).toBeUndefined();
  });

  it("answers the latest value of a key set again, in the same segment or a later one", () => {
    const { map } = mapAt({ segmentBytes: 256 });
    map.set(digestOf("a"), "one");
    map.set(digestOf("a"), "two");
    expect(map.get(digestOf("a"))).toBe("two");
    for (let i = 0; i < 20; i++) map.set(digestOf(`filler-${i}`), "x".repeat(20));
    map.set(digestOf("a"), "three");
    expect(map.get(digestOf("a"))).toBe("three");
  });

  it("keeps 100 000 entries over many segments, each under its own digest", () => {
    const { map } = mapAt({ segmentBytes: 64 * 1024 });
    for (let i = 0; i < 100_000; i++) map.set(digestOf(`code-${i}`), `value-${i}`);
    for (let i = 0; i < 100_000; i += 997) {
      expect(map.get(digestOf(`code-${i}`))).toBe(`value-${i}`);
    }
    expect(map.get(digestOf("code-100000"))).toBeUndefined();
  });

  it("tells apart digests that share their first bytes (one index slot)", () => {
    const { map } = mapAt();
    const first = Buffer.alloc(32, 7);
    const second = Buffer.alloc(32, 7);
    second[15] = 8;
    const third = Buffer.alloc(32, 7);
    third[31] = 9; // past the 16 bytes kept: the same key as `first`
    map.set(first, "first");
    map.set(second, "second");
    expect(map.get(first)).toBe("first");
    expect(map.get(second)).toBe("second");
    expect(map.get(third)).toBe("first");
  });

  it("drops a segment once its newest entry has expired", () => {
    const { map, clock } = mapAt({ segmentBytes: 1024 });
    for (let i = 0; i < 100; i++) map.set(digestOf(`old-${i}`), "x".repeat(40));
    const held = map.byteLength;
    expect(held).toBeGreaterThan(4 * 1024);
    clock.now += 60_000;
    map.set(digestOf("new"), "y");
    expect(map.byteLength).toBeLessThan(held / 4);
    expect(map.get(digestOf("new"))).toBe("y");
    expect(map.get(digestOf("old-99"))).toBeUndefined();
  });

  it("drops the oldest segments early past maxBytes, keeping the newest entries", () => {
    const { map } = mapAt({ segmentBytes: 1024, maxBytes: 4 * 1024 });
    for (let i = 0; i < 1000; i++) map.set(digestOf(`code-${i}`), "x".repeat(40));
    expect(map.get(digestOf("code-0"))).toBeUndefined();
    expect(map.get(digestOf("code-999"))).toBe("x".repeat(40));
    // Four segments of data, and their indexes.
    expect(map.byteLength).toBeLessThanOrEqual(4 * 1024 + 4 * 4 * 1024);
  });

  it("does not keep a value too big for a segment, and keeps the others", () => {
    const { map } = mapAt({ segmentBytes: 256 });
    map.set(digestOf("small"), "s");
    map.set(digestOf("big"), "b".repeat(300));
    expect(map.get(digestOf("big"))).toBeUndefined();
    expect(map.get(digestOf("small"))).toBe("s");
  });
});
