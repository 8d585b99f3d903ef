import {
  createHash,
  createHmac,
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

/** What a token is signed for: its subject, and the appid signed in through (`azp`). */
export interface AccessTokenGrant extends AccessTokenSubject {
  /** The mini program the session signed in through, so services behind wxauth tell apps apart. */
  appid: string;
}

export interface AccessTokens {
  sign(grant: AccessTokenGrant): AccessToken;
  /**
   * The subject of a token with a valid signature, issuer, audience and lifetime; throws 401
   * UNAUTHORIZED otherwise. Whether its session still stands, and its app, are the session's.
   */
  verify(token: string): AccessTokenSubject;
  /**
   * The public keys other services verify with: the current key's and the previous keys' (none of
   * HS256's: a shared secret is never published).
   */
  jwks(): Jwks;
}

type TokenAlgorithm = Config["jwt"]["algorithm"];

/** A key that verifies tokens naming `kid`, with the one algorithm it is used with. */
interface VerifyingKey {
  kid: string;
  algorithm: TokenAlgorithm;
  key: KeyObject;
}

/**
 * JWT access tokens, with a key ring: the current key signs, and it and the previous keys
 * (JWT_PREVIOUS_KEYS) verify, chosen by the token's `kid`. Keys are KeyObjects built once at boot
 * (a string secret makes every verify re-import it, ~50x slower), and each key's algorithm is pinned
 * on verify, so `alg: none` or an algorithm swap is refused.
 */
export function createAccessTokens(
  options: Config["jwt"] & { ttlS: number },
  clock: Clock,
): AccessTokens {
  const { algorithm, issuer, audience, ttlS } = options;
  let signingKey: KeyObject;
  let current: VerifyingKey;
  if (algorithm === "HS256") {
    signingKey = createSecretKey(Buffer.from(options.secret, "utf8"));
    current = { kid: options.keyId ?? secretKeyId(signingKey), algorithm, key: signingKey };
  } else {
    signingKey = createPrivateKey(options.privateKeyPem ?? "");
    const key = createPublicKey(signingKey);
    if (algorithmOf(key) !== algorithm) {
      throw new Error(
        algorithm === "RS256"
          ? "JWT_PRIVATE_KEY: RS256 needs an RSA key of at least 2048 bits"
          : "JWT_PRIVATE_KEY: ES256 needs an EC P-256 key",
      );
    }
    current = { kid: options.keyId ?? jwkThumbprint(key), algorithm, key };
  }

  const byKid = new Map([[current.kid, current]]);
  for (const [index, previous] of options.previousKeys.entries()) {
    const verifying = previousKey(previous, index);
    if (byKid.has(verifying.kid)) {
      throw new Error(
        `JWT_PREVIOUS_KEYS[${index}]: the kid "${verifying.kid}" is already another key's (every key needs its own)`,
      );
    }
    byKid.set(verifying.kid, verifying);
  }
  // A shared secret is never published.
  const published: Jwks = {
    keys: [...byKid.values()]
      .filter((verifying) => verifying.algorithm !== "HS256")
      .map(({ kid, algorithm: alg, key }) => ({
        ...key.export({ format: "jwk" }),
        kid,
        alg,
        use: "sig" as const,
      })),
  };

  const signOptions: jwt.SignOptions = {
    algorithm,
    issuer,
    audience,
    expiresIn: ttlS,
    keyid: current.kid,
  };

  /** The key a token names; tokens signed before kids existed (HS256) name none and had the current key. */
  function keyFor(token: string): VerifyingKey {
    let decoded: jwt.Jwt | null;
    try {
      decoded = jwt.decode(token, { complete: true });
    } catch {
      // jws parses a header that reads as JSON with typ JWT, then its payload, unguarded.
      decoded = null;
    }
    if (!decoded) throw new AppError("UNAUTHORIZED", "The access token is invalid.");
    const { kid } = decoded.header;
    const key = kid === undefined ? current : byKid.get(kid);
    if (!key) throw new AppError("UNAUTHORIZED", "The access token's key is unknown.");
    return key;
  }

  return {
    sign({ userId, sessionId, appid }) {
      const iat = Math.floor(clock.now() / 1000);
      const token = jwt.sign({ iat, sid: sessionId, azp: appid }, signingKey, {
        ...signOptions,
        subject: userId,
        jwtid: randomUUID(),
      });
      return { token, expiresIn: ttlS };
    },
    verify(token) {
      const { key, algorithm: keyAlgorithm } = keyFor(token);
      let payload: string | jwt.JwtPayload;
      try {
        payload = jwt.verify(token, key, {
          algorithms: [keyAlgorithm],
          issuer,
          audience,
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

/** A key of JWT_PREVIOUS_KEYS: an HS256 secret, or an RS256/ES256 public key in PEM. */
function previousKey(previous: Config["jwt"]["previousKeys"][number], index: number): VerifyingKey {
  if ("secret" in previous) {
    return {
      kid: previous.kid,
      algorithm: "HS256",
      key: createSecretKey(Buffer.from(previous.secret, "utf8")),
    };
  }
  let key: KeyObject;
  try {
    key = createPublicKey(previous.publicKey);
  } catch {
    throw new Error(`JWT_PREVIOUS_KEYS[${index}]: publicKey is not a PEM public key`);
  }
  const algorithm = algorithmOf(key);
  if (!algorithm) {
    throw new Error(
      `JWT_PREVIOUS_KEYS[${index}]: publicKey must be an RSA key of at least 2048 bits (RS256) or an EC P-256 key (ES256)`,
    );
  }
  return { kid: previous.kid, algorithm, key };
}

/** The algorithm a public key is used with, or undefined for a key that fits none (too short, another curve). */
function algorithmOf(publicKey: KeyObject): "RS256" | "ES256" | undefined {
  const details = publicKey.asymmetricKeyDetails;
  if (publicKey.asymmetricKeyType === "rsa" && (details?.modulusLength ?? 0) >= 2048) {
    return "RS256";
  }
  if (publicKey.asymmetricKeyType === "ec" && details?.namedCurve === "prime256v1") return "ES256";
  return undefined;
}

/**
 * The `kid` of an HS256 secret when JWT_KEY_ID is not set: a truncated HMAC under the secret, so
 * it names the key and tells nothing about it.
 */
function secretKeyId(secret: KeyObject): string {
  return createHmac("sha256", secret)
    .update("wxauth access-token key id")
    .digest("base64url")
    .slice(0, 16);
}

function describeJwtError(error: unknown): string {
  if (error instanceof jwt.TokenExpiredError) return "The access token has expired.";
  if (error instanceof jwt.NotBeforeError) return "The access token is not valid yet.";
  return "The access token is invalid.";
}

/** RFC 7638 key thumbprint: a stable `kid` when JWT_KEY_ID is not set. */
function jwkThumbprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: "jwk" });
  const members =
    jwk.kty === "EC"
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return createHash("sha256").update(JSON.stringify(members)).digest("base64url");
}
