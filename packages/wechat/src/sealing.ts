import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

const VERSION = "v1";
const SALT = "wxauth at-rest";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM for small secrets kept at rest: in the database, or in a store other processes read.
 * The key is derived from `keyMaterial` with HKDF-SHA256 under `label`, so one key never serves two
 * purposes; the label is also bound as associated data.
 * Format: `v1.<iv>.<tag>.<ciphertext>`, each part base64url.
 */
export class Sealer {
  private readonly key: Buffer;
  private readonly label: Buffer;

  constructor(keyMaterial: string, label: string) {
    this.label = Buffer.from(label, "utf8");
    this.key = Buffer.from(hkdfSync("sha256", keyMaterial, SALT, this.label, 32));
  }

  seal(plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(this.label);
    const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), ciphertext]
      .map((part) => (typeof part === "string" ? part : part.toString("base64url")))
      .join(".");
  }

  /** Throws when `sealed` was not made by this key material and label, or was tampered with. */
  open(sealed: string): string {
    const [version, iv, tag, ciphertext, extra] = sealed.split(".");
    if (version !== VERSION || !iv || !tag || ciphertext === undefined || extra !== undefined) {
      throw new Error("sealed value: unrecognised format");
    }
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64url"), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(this.label);
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([
      decipher.update(Buffer.from(ciphertext, "base64url")),
      decipher.final(),
    ]).toString("utf8");
  }
}
