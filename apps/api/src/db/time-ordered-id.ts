import { randomUUID } from "node:crypto";

/**
 * A UUIDv7 (RFC 9562): the first 48 bits are the Unix time in milliseconds, the other 74 (beside
 * the version and variant bits) random. Rows that are written on every sign-in (refresh-token
 * families and tokens) take these ids, so each insert lands at the right edge of the primary-key
 * and foreign-key indexes instead of on a random page of each: fewer pages read and written per
 * sign-in, and a working set that stays small as the tables grow. Ids that reach clients
 * (users) stay random (crypto.randomUUID), so they do not tell when an account was made.
 */
export function timeOrderedId(now = Date.now()): string {
  // A random UUIDv4 has the same variant bits and 74 random bits where v7 keeps its own: swap its
  // first 48 bits for the time and its version digit for 7.
  const random = randomUUID();
  const time = now.toString(16).padStart(12, "0");
  return `${time.slice(0, 8)}-${time.slice(8)}-7${random.slice(15)}`;
}
