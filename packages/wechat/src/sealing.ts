import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";

const SALT = "wxauth at-rest";
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** A data key, and every key derived from one: SHA-256's size. */
export const DATA_KEY_BYTES = 32;
/** What names a key in a sealed value: no dot, which separates the value's parts. */
export const DATA_KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
/**
 * The id under which values sealed before key rings (`v1.…`, which name no key) are opened: the key
 * then derived from JWT_SECRET, which `dataKeyFromSecret(LEGACY_KEY_ID, JWT_SECRET)` gives again.
 */
export const LEGACY_KEY_ID = "legacy";

/** One key of a ring: 32 random bytes and the id sealed values name it by. */
export interface DataKey {
  readonly id: string;
  readonly key: Uint8Array;
}

/**
 * The data key HKDF-Extract draws from a secret of any length (a password-like string, a WeChat
 * code). Sealing keys were derived from JWT_SECRET this way before key rings, so the key it gives
 * for that secret opens every value sealed then.
 */
export function dataKeyFromSecret(id: string, secret: string): DataKey {
  return { id, key: createHmac("sha256", SALT).update(secret, "utf8").digest() };
}

/**
 * The key for one use (`label`) of a data key: HKDF-Expand (RFC 5869) to 32 bytes, which is a single
 * HMAC. Data keys are uniformly random, so they need no Extract step; and Expand alone over the key
 * `dataKeyFromSecret` gives is exactly the full HKDF the keys were derived with before key rings.
 */
export function deriveKey(dataKey: DataKey, label: string): Buffer {
  return createHmac("sha256", dataKey.key).update(label, "utf8").update(Buffer.of(1)).digest();
}

/**
 * AES-256-GCM for small secrets kept at rest: in the database, or in a store other processes read.
 * It holds a key ring: the first key seals, every key opens, and each value names the key it was
 * sealed under, so keys rotate without losing data (add a key first, re-seal, drop the old one).
 * Each key serves one purpose: the AES key is derived from the data key under `label`, which is
 * also bound as associated data.
 * Format: `v2.<key id>.<iv>.<tag>.<ciphertext>`, binary parts base64url. `v1.<iv>.<tag>.<ciphertext>`,
 * from before key rings, opens under the key whose id is LEGACY_KEY_ID.
 */
export class Sealer {
  private readonly label: Buffer;
  private readonly keys: ReadonlyMap<string, Buffer>;
  /** The key that seals: the ring's first. */
  readonly sealingKeyId: string;

  constructor(ring: readonly DataKey[], label: string) {
    const [first] = ring;
    if (!first) throw new Error("Sealer: the key ring is empty");
    this.label = Buffer.from(label, "utf8");
    this.keys = new Map(ring.map((dataKey) => [dataKey.id, deriveKey(dataKey, label)]));
    if (this.keys.size !== ring.length) throw new Error("Sealer: two keys share an id");
    this.sealingKeyId = first.id;
  }

  seal(plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const key = this.keys.get(this.sealingKeyId)!;
    const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(this.label);
    const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const binary = [iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString("base64url"));
    return ["v2", this.sealingKeyId, ...binary].join(".");
  }

  /**
   * Throws when `sealed` names no key of the ring, was not sealed under this ring and label, or was
   * tampered with.
   */
  open(sealed: string): string {
    const { keyId, iv, tag, ciphertext } = parse(sealed);
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`sealed value: key "${keyId}" is not in the ring`);
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(this.label);
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([
      decipher.update(Buffer.from(ciphertext, "base64url")),
      decipher.final(),
    ]).toString("utf8");
  }

  /** The id of the key `sealed` names (LEGACY_KEY_ID for a `v1` value); throws on another format. */
  keyIdOf(sealed: string): string {
    return parse(sealed).keyId;
  }
}

function parse(sealed: string) {
  const parts = sealed.split(".");
  const [keyId, iv, tag, ciphertext, extra] =
    parts[0] === "v1" ? [LEGACY_KEY_ID, ...parts.slice(1)] : parts.slice(1);
  const known = parts[0] === "v1" || parts[0] === "v2";
  if (!known || !keyId || !iv || !tag || ciphertext === undefined || extra !== undefined) {
    throw new Error("sealed value: unrecognised format");
  }
  return { keyId, iv, tag, ciphertext };
}
