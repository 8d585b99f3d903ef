import { LRUCache } from "lru-cache";
import type { SharedStore } from "./types.js";

export interface MemoryStoreOptions {
  /** The most entries kept; past it the least recently used go first. Default 100 000. */
  maxEntries?: number;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
}

/**
 * A SharedStore for one process: an LRU cache in which every entry expires after its own TTL.
 * `maxEntries` bounds it, so a flood of login codes cannot grow it without end.
 */
export class MemoryStore implements SharedStore {
  private readonly entries: LRUCache<string, string>;

  constructor(options: MemoryStoreOptions = {}) {
    const now = options.now ?? Date.now;
    // ttlResolution 0: expiry is checked against the clock at every read, never a cached time.
    this.entries = new LRUCache({
      max: options.maxEntries ?? 100_000,
      ttlResolution: 0,
      perf: { now },
    });
  }

  async get(key: string): Promise<string | null> {
    return this.entries.get(key) ?? null;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.entries.set(key, value, { ttl: ttlMs });
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.entries.has(key)) return false;
    this.entries.set(key, value, { ttl: ttlMs });
    return true;
  }

  async deleteIfEquals(key: string, expected: string): Promise<boolean> {
    if (this.entries.get(key) !== expected) return false;
    return this.entries.delete(key);
  }

  async increment(key: string, ttlMs: number): Promise<{ count: number; resetInMs: number }> {
    const count = Number(this.entries.get(key) ?? 0) + 1;
    // The window starts at the first increment: later ones keep its expiry.
    this.entries.set(key, String(count), count === 1 ? { ttl: ttlMs } : { noUpdateTTL: true });
    return { count, resetInMs: this.entries.getRemainingTTL(key) };
  }
}
