import { createHmac } from "node:crypto";

const base64url = (json: unknown) => Buffer.from(JSON.stringify(json)).toString("base64url");

/**
 * The same access token, re-signed (HS256, with the API's secret) to have expired a minute ago:
 * what a device holds after sitting idle longer than ACCESS_TOKEN_TTL_S.
 */
export function expiredCopyOf(accessToken: string, jwtSecret: string): string {
  const payload = accessToken.split(".")[1];
  if (!payload) throw new Error("not a JWT");
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as object;
  const now = Math.floor(Date.now() / 1000);
  const header = base64url({ alg: "HS256", typ: "JWT" });
  const body = base64url({ ...claims, iat: now - 3600, exp: now - 60 });
  const signature = createHmac("sha256", jwtSecret).update(`${header}.${body}`).digest("base64url");
  return `${header}.${body}.${signature}`;
}
