import { describe, expect, it } from "vitest";
import { pooledRandomBytes } from "./random-bytes.js";

describe("pooledRandomBytes", () => {
  it("gives the size asked for, each draw its own bytes, across many refills", () => {
    const seen = new Set<string>();
    // 2,000 draws of 32 bytes span eight refills of the pool, and cross its end unaligned.
    for (let i = 0; i < 2_000; i++) {
      const bytes = pooledRandomBytes(i % 3 === 0 ? 12 : 32);
      expect(bytes.length).toBe(i % 3 === 0 ? 12 : 32);
      seen.add(bytes.toString("hex"));
    }
    expect(seen.size).toBe(2_000);
  });

  it("hands out copies: changing one draw changes no other", () => {
    const first = pooledRandomBytes(16);
    const kept = Buffer.from(first);
    first.fill(0);
    const second = pooledRandomBytes(16);
    expect(kept.equals(Buffer.alloc(16))).toBe(false);
    expect(second.equals(Buffer.alloc(16))).toBe(false);
  });

  it("serves a draw bigger than the pool", () => {
    const big = pooledRandomBytes(20_000);
    expect(big.length).toBe(20_000);
    expect(big.equals(Buffer.alloc(20_000))).toBe(false);
  });

  it("looks uniform: each bit is set about half the time", () => {
    const bytes = Buffer.concat(Array.from({ length: 4_000 }, () => pooledRandomBytes(32)));
    let ones = 0;
    for (const byte of bytes) for (let bit = 0; bit < 8; bit++) ones += (byte >> bit) & 1;
    // 1,024,000 bits: a fair source lands within 0.5% of half with near certainty (10 sigma).
    expect(Math.abs(ones / (bytes.length * 8) - 0.5)).toBeLessThan(0.005);
  });
});
