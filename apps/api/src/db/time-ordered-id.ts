import { randomBytes } from "node:crypto";

/**
 * A UUIDv7 (RFC 9562): the first 48 bits are the Unix time in milliseconds, the other 74 (beside
 * the version and variant bits) random. Rows that are written on every sign-in (refresh-token
 * families and tokens) take these ids, so each insert lands at the right edge of the primary-key
 * and foreign-key indexes instead of on a random page of each: fewer pages read and written per
 * sign-in, and a working set that stays small as the tables grow. Ids that reach clients
 * (users) stay random (crypto.randomUUID), so they do not tell when an account was made.
 */
export function timeOrderedId(now = Date.now()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
