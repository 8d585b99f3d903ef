import {
  DATA_KEY_BYTES,
  DATA_KEY_ID_PATTERN,
  LEGACY_KEY_ID,
  dataKeyFromSecret,
  type DataKey,
} from "@wxauth/wechat";

/*
 * The data keys (DATA_KEYS) seal secrets at rest and key the SMS code hashes. They are a ring, kept
 * apart from the token keys: the first key seals, every key opens, so a key rotates by being put
 * first, then the values are re-sealed (`keys:reseal`), then the old key is dropped.
 */

/** How to make one: 32 random bytes in base64url. */
export const NEW_DATA_KEY_COMMAND = `node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`;

/**
 * `id:key,id:key,…` as a ring, or what is wrong with it (never echoing a key). Each key is 32 bytes
 * in base64url; ids are letters, digits, `-` and `_`, each used once.
 */
export function parseDataKeys(text: string): DataKey[] | { problem: string } {
  const entries = text
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) return { problem: "expected id:key,id:key,…" };
  const ring: DataKey[] = [];
  for (const [index, entry] of entries.entries()) {
    const separator = entry.indexOf(":");
    const id = entry.slice(0, separator);
    const encoded = entry.slice(separator + 1);
    const key = Buffer.from(encoded, "base64url");
    const where = `entry ${index + 1}`;
    if (separator < 0 || !DATA_KEY_ID_PATTERN.test(id)) {
      return { problem: `${where}: expected id:key, the id made of letters, digits, - and _` };
    }
    // A round trip rejects characters base64url does not have, which Buffer would skip.
    if (key.length !== DATA_KEY_BYTES || key.toString("base64url") !== encoded) {
      return {
        problem: `${where} ("${id}"): the key must be ${DATA_KEY_BYTES} random bytes in base64url (${NEW_DATA_KEY_COMMAND})`,
      };
    }
    if (ring.some((earlier) => earlier.id === id)) {
      return { problem: `${where}: the id "${id}" is used twice` };
    }
    ring.push({ id, key });
  }
  return ring;
}

/**
 * The data key that JWT_SECRET derived before DATA_KEYS existed: appended to DATA_KEYS as
 * `legacy:<key>`, it keeps everything sealed so far readable. Development, without DATA_KEYS, runs
 * on it alone.
 */
export function legacyDataKey(jwtSecret: string): DataKey {
  return dataKeyFromSecret(LEGACY_KEY_ID, jwtSecret);
}

/** `id:key`, as DATA_KEYS writes one key. */
export function formatDataKey({ id, key }: DataKey): string {
  return `${id}:${Buffer.from(key).toString("base64url")}`;
}

/** Whether a data key is a token secret as well, in either spelling (the text or its bytes). */
export function isSameKey(dataKey: DataKey, tokenSecret: string): boolean {
  const bytes = Buffer.from(dataKey.key);
  return (
    bytes.toString("base64url") === tokenSecret || bytes.equals(Buffer.from(tokenSecret, "utf8"))
  );
}
