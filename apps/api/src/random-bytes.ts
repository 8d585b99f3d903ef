import { randomBytes, randomFillSync } from "node:crypto";

/** Refilled this many bytes at a time: 256 refresh tokens' worth. */
const POOL_BYTES = 8192;
const pool = Buffer.alloc(POOL_BYTES);
let drawn = POOL_BYTES;

/**
 * `size` bytes from the operating system's CSPRNG, like crypto.randomBytes, drawn from a buffer
 * that is refilled 8 KiB at a time. Every sign-in takes five small draws (a refresh token, two
 * row ids, two IVs); under load each crypto.randomBytes call cost 7-8 µs of the event loop
 * (docs/benchmarks.md), a draw from the pool a fraction of one. Each byte is handed out once, in
 * a copy of its own; Node keeps the bytes behind crypto.randomUUID() the same way.
 */
export function pooledRandomBytes(size: number): Buffer {
  if (size > POOL_BYTES) return randomBytes(size);
  if (drawn + size > POOL_BYTES) {
    randomFillSync(pool);
    drawn = 0;
  }
  const bytes = Buffer.allocUnsafe(size);
  pool.copy(bytes, 0, drawn, drawn + size);
  drawn += size;
  return bytes;
}
