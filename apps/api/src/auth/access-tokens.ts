import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  randomUUID,
  type JsonWebKey,
  type KeyObject,
} from "node:crypto";
import jwt from "jsonwebtoken";
import type { Config } from "../config.js";
import { AppError } from "../errors.js";
import type { Clock } from "../clock.js";

export interface AccessToken {
  token: string;
  /** Seconds until it expires. */
  expiresIn: number;
}

export interface Jwks {
  keys: Array<JsonWebKey & { kid: string; alg: string; use: "sig" }>;
}

/** Whom an access token was issued to: the user (`sub`) and their session (`sid`). */
export interface AccessTokenSubject {
  userId: string;
  /** The session (one sign-in) the token was issued from. */
  sessionId: string;
}

export interface AccessTokens {
  sign(subject: AccessTokenSubject): AccessToken;
  /**
   * The subject of a token with a valid signature, issuer, audience and lifetime; throws 401
   * UNAUTHORIZED otherwise. Whether its session still stands is the sessions' question.
   */
  verify(token: string): AccessTokenSubject;
  /** The public keys other services verify with (empty for HS256: a shared secret is never published). */
  jwks(): Jwks;
}

/**
 * JWT access tokens. Keys are KeyObjects built once at boot (a string secret makes every verify
 * re-import it, ~50x slower), and the algorithm is pinned on verify, so `alg: none` or an
 * algorithm swap is refused.
 */
export function createAccessTokens(
  options: Config["jwt"] & { ttlS: number },
  clock: Clock,
): AccessTokens {
  const { algorithm, issuer, audience, ttlS } = options;
  let signingKey: KeyObject;
  let verifyingKey: KeyObject;
  let keyId: string | undefined;
  let published: Jwks = { keys: [] };

  if (algorithm === "HS256") {
    signingKey = verifyingKey = createSecretKey(Buffer.from(options.secret, "utf8"));
  } else {
    signingKey = createPrivateKey(options.privateKeyPem ?? "");
    verifyingKey = createPublicKey(signingKey);
    assertKeyFits(algorithm, verifyingKey);
    const jwk = verifyingKey.export({ format: "jwk" });
    keyId = options.keyId ?? jwkThumbprint(jwk);
    published = { keys: [{ ...jwk, kid: keyId, alg: algorithm, use: "sig" }] };
  }

  const signOptions: jwt.SignOptions = {
    algorithm,
    issuer,
    audience,
    expiresIn: ttlS,
    ...(keyId ? { keyid: keyId } : {}),
  };
  const verifyOptions = { algorithms: [algorithm], issuer, audience };

  return {
    sign({ userId, sessionId }) {
      const iat = Math.floor(clock.now() / 1000);
      const token = jwt.sign({ iat, sid: sessionId }, signingKey, {
        ...signOptions,
        subject: userId,
        jwtid: randomUUID(),
      });
      return { token, expiresIn: ttlS };
    },
    verify(token) {
      let payload: string | jwt.JwtPayload;
      try {
        payload = jwt.verify(token, verifyingKey, {
          ...verifyOptions,
          clockTimestamp: Math.floor(clock.now() / 1000),
        });
      } catch (error) {
        throw new AppError("UNAUTHORIZED", describeJwtError(error));
      }
      if (typeof payload === "string" || typeof payload.sub !== "string" || !payload.sub) {
        throw new AppError("UNAUTHORIZED", "The access token has no subject.");
      }
      // Tokens from before sessions were named carry no sid: the client refreshes for one.
      const sessionId: unknown = payload.sid;
      if (typeof sessionId !== "string" || !sessionId) {
        throw new AppError("UNAUTHORIZED", "The access token names no session.");
      }
      return { userId: payload.sub, sessionId };
    },
    jwks: () => published,
  };
}

function describeJwtError(error: unknown): string {
  if (error instanceof jwt.TokenExpiredError) return "The access token has expired.";
  if (error instanceof jwt.NotBeforeError) return "The access token is not valid yet.";
  return "The access token is invalid.";
}

function assertKeyFits(algorithm: "RS256" | "ES256", publicKey: KeyObject): void {
  const details = publicKey.asymmetricKeyDetails;
  if (algorithm === "RS256") {
    if (publicKey.asymmetricKeyType !== "rsa" || (details?.modulusLength ?? 0) < 2048) {
      throw new Error("JWT_PRIVATE_KEY: RS256 needs an RSA key of at least 2048 bits");
    }
  } else if (publicKey.asymmetricKeyType !== "ec" || details?.namedCurve !== "prime256v1") {
    throw new Error("JWT_PRIVATE_KEY: ES256 needs an EC P-256 key");
  }
}

/** RFC 7638 key thumbprint: a stable `kid` when JWT_KEY_ID is not set. */
function jwkThumbprint(jwk: JsonWebKey): string {
  const members =
    jwk.kty === "EC"
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return createHash("sha256").update(JSON.stringify(members)).digest("base64url");
}
