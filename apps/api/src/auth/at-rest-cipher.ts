import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/** One HKDF label, hence one key, per kind of secret kept at rest. */
export const AT_REST_LABELS = {
  wechatSessionKey: "wechat-session-key",
  refreshTokenSuccessor: "refresh-token-successor",
} as const;

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM for small secrets kept at rest (WeChat session_key, a refresh token's successor in
 * its grace window). Each use gets its own key, derived from JWT_SECRET with HKDF under a distinct
 * label, so one key never serves two purposes. The label is also bound as associated data.
 * Format: `v1.<iv>.<tag>.<ciphertext>`, base64url.
 */
export class AtRestCipher {
  private readonly key: Buffer;
  private readonly label: Buffer;

  constructor(rootSecret: string, label: string) {
    this.label = Buffer.from(label, "utf8");
    this.key = Buffer.from(hkdfSync("sha256", rootSecret, "wxauth at-rest", this.label, 32));
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(this.label);
    const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), ciphertext]
      .map((part) => (typeof part === "string" ? part : part.toString("base64url")))
      .join(".");
  }

  /** Throws when the value was not made by this cipher (other key, other label, tampered). */
  decrypt(sealed: string): string {
    const [version, iv, tag, ciphertext] = sealed.split(".");
    if (version !== VERSION || iv === undefined || tag === undefined || ciphertext === undefined) {
      throw new Error("at-rest cipher: unrecognised format");
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
