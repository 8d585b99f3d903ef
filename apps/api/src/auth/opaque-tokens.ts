import { createHash, randomBytes } from "node:crypto";

/** A fresh opaque credential: 32 random bytes, base64url (43 characters). */
export function newOpaqueToken(): string {
  return randomBytes(32).toString("base64url");
}

/** What is stored instead of an opaque credential: its SHA-256, base64url. */
export function hashOpaqueToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("base64url");
}
