import { createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from "node:crypto";
import { SessionListSchema, UserSchema } from "@wxauth/contracts";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { AppError } from "../errors.js";
import { ManualClock, expectErrorBody, startTestApi, type TestApi } from "../testing/harness.js";
import { createAccessTokens } from "./access-tokens.js";

const config = loadConfig({ NODE_ENV: "test" });

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

describe("access tokens over HTTP (HS256)", () => {
  let api: TestApi;
  let session: Awaited<ReturnType<TestApi["register"]>>;
  beforeAll(async () => {
    api = await startTestApi();
    session = await api.register();
  });
  afterAll(() => api.close());

  const me = (authorization?: string) =>
    api.request("GET", "/api/me", { headers: authorization ? { authorization } : {} });

  it("carries sub, sid, iss, aud, iat, exp and jti", async () => {
    const claims = jwt.decode(session.accessToken, { complete: true });
    expect(claims?.header.alg).toBe("HS256");
    expect(claims?.payload).toMatchObject({
      sub: session.user.id,
      iss: config.jwt.issuer,
      aud: config.jwt.audience,
    });
    // sid is the session, as the user's list of sessions names it.
    const listed = await api.request("GET", "/api/me/sessions", { token: session.accessToken });
    const { sessions } = SessionListSchema.parse(listed.body);
    expect(sessions.find((listedSession) => listedSession.current)?.id).toBe(
      (claims?.payload as jwt.JwtPayload).sid,
    );
    const payload = claims?.payload as jwt.JwtPayload;
    expect(payload.exp! - payload.iat!).toBe(900);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("lets a valid token through", async () => {
    const result = await me(`Bearer ${session.accessToken}`);
    expect(result.status).toBe(200);
    expect(UserSchema.parse(result.body).id).toBe(session.user.id);
  });

  it.each([
    ["no header", undefined],
    ["another scheme", `Basic ${Buffer.from("a:b").toString("base64")}`],
    ["an empty bearer", "Bearer "],
    ["garbage", "Bearer not.a.jwt"],
  ])("refuses %s with 401 UNAUTHORIZED", async (_name, header) => {
    const result = await me(header);
    expect(result.status).toBe(401);
    expectErrorBody(result, "UNAUTHORIZED");
    expect(result.headers["www-authenticate"]).toMatch(/^Bearer/);
  });

  it("refuses alg none", async () => {
    const [, payload] = session.accessToken.split(".");
    const unsigned = `${base64url({ alg: "none", typ: "JWT" })}.${payload}.`;
    expectErrorBody(await me(`Bearer ${unsigned}`), "UNAUTHORIZED");
  });

  it("refuses a tampered payload", async () => {
    const [header, payload, signature] = session.accessToken.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString("utf8")) as object;
    const forged = `${header}.${base64url({ ...claims, sub: "someone-else" })}.${signature}`;
    expectErrorBody(await me(`Bearer ${forged}`), "UNAUTHORIZED");
  });

  it("refuses a token signed with another secret, or for another issuer or audience", async () => {
    const { sid } = jwt.decode(session.accessToken) as jwt.JwtPayload;
    const sign = (secret: string, options: jwt.SignOptions) =>
      jwt.sign({ sid }, secret, {
        algorithm: "HS256",
        subject: session.user.id,
        expiresIn: 60,
        ...options,
      });
    const right = { issuer: config.jwt.issuer, audience: config.jwt.audience };
    for (const token of [
      sign("another-secret-another-secret-another", right),
      sign(config.jwt.secret, { ...right, issuer: "evil" }),
      sign(config.jwt.secret, { ...right, audience: "evil" }),
    ]) {
      expectErrorBody(await me(`Bearer ${token}`), "UNAUTHORIZED");
    }
    // The same claims with the right key pass, so the refusals above are about the claims.
    expect((await me(`Bearer ${sign(config.jwt.secret, right)}`)).status).toBe(200);
  });

  it("refuses a token that names no session, as every token from before sessions did", async () => {
    const { sid: _sid, ...claims } = jwt.decode(session.accessToken) as jwt.JwtPayload;
    const withoutSession = jwt.sign(claims, config.jwt.secret, { algorithm: "HS256" });
    const result = await me(`Bearer ${withoutSession}`);
    expect(expectErrorBody(result, "UNAUTHORIZED").error.message).toMatch(/session/);
  });

  it("refuses an expired token", async () => {
    api.clock.advance(901_000);
    const result = await me(`Bearer ${session.accessToken}`);
    expect(result.status).toBe(401);
    expect(expectErrorBody(result, "UNAUTHORIZED").error.message).toMatch(/expired/);
  });

  it("serves an empty JWKS: a shared secret is never published", async () => {
    const result = await api.request("GET", "/.well-known/jwks.json");
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ keys: [] });
  });
});

describe.each([
  ["RS256", () => generateKeyPairSync("rsa", { modulusLength: 2048 })],
  ["ES256", () => generateKeyPairSync("ec", { namedCurve: "prime256v1" })],
] as const)("%s with JWKS", (algorithm, generate) => {
  let api: TestApi;
  let privateKeyPem: string;
  beforeAll(async () => {
    privateKeyPem = generate().privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    api = await startTestApi({
      env: { JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY: privateKeyPem.replace(/\n/g, "\\n") },
    });
  });
  afterAll(() => api.close());

  it("signs with the key and publishes the public half, so another service can verify", async () => {
    const session = await api.register();
    const jwks = (await api.request("GET", "/.well-known/jwks.json")).body as {
      keys: Array<{ kid: string; alg: string; use: string; d?: string }>;
    };
    expect(jwks.keys).toHaveLength(1);
    const [key] = jwks.keys;
    expect(key).toMatchObject({ alg: algorithm, use: "sig" });
    expect(key?.d).toBeUndefined();

    const decoded = jwt.decode(session.accessToken, { complete: true });
    expect(decoded?.header).toMatchObject({ alg: algorithm, kid: key?.kid });
    const publicKey = createPublicKey({
      key: key as object as JsonWebKey,
      format: "jwk",
    });
    const claims = jwt.verify(session.accessToken, publicKey, {
      algorithms: [algorithm],
      issuer: api.config.jwt.issuer,
      audience: api.config.jwt.audience,
    }) as jwt.JwtPayload;
    expect(claims.sub).toBe(session.user.id);
    expect((await api.request("GET", "/api/me", { token: session.accessToken })).status).toBe(200);
  });

  it("refuses an HS256 token made with the public key (algorithm confusion)", async () => {
    const session = await api.register();
    const publicPem = createPublicKey(privateKeyPem)
      .export({ format: "pem", type: "spki" })
      .toString();
    const [, payload] = session.accessToken.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString("utf8")) as object;
    const confused = jwt.sign(claims, Buffer.from(publicPem), { algorithm: "HS256" });
    expectErrorBody(await api.request("GET", "/api/me", { token: confused }), "UNAUTHORIZED");
  });
});

describe("key rotation: JWT_PREVIOUS_KEYS verify, the current key signs", () => {
  const pem = (key: KeyObject, type: "pkcs8" | "spki") =>
    key.export({ format: "pem", type }).toString();
  const current = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const previousRsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const previousSecret = "a-previous-hs256-secret-of-enough-length";
  let api: TestApi;
  let claims: jwt.JwtPayload;
  beforeAll(async () => {
    api = await startTestApi({
      env: {
        JWT_ALGORITHM: "ES256",
        JWT_PRIVATE_KEY: pem(current.privateKey, "pkcs8"),
        JWT_KEY_ID: "2026-12",
        JWT_PREVIOUS_KEYS: JSON.stringify([
          { kid: "2026-06", publicKey: pem(previousRsa.publicKey, "spki") },
          { kid: "hs-2025", secret: previousSecret },
        ]),
      },
    });
    const { jti: _jti, ...fromSession } = jwt.decode(
      (await api.register()).accessToken,
    ) as jwt.JwtPayload;
    claims = fromSession;
  });
  afterAll(() => api.close());

  const me = (token: string) => api.request("GET", "/api/me", { token });
  const mint = (key: jwt.Secret, options: jwt.SignOptions) => jwt.sign(claims, key, options);

  it("signs with the current key only, naming it", async () => {
    const session = await api.register();
    expect(jwt.decode(session.accessToken, { complete: true })?.header).toMatchObject({
      alg: "ES256",
      kid: "2026-12",
    });
  });

  it("lets tokens signed by a previous key through, RS256 or HS256", async () => {
    const rs = mint(previousRsa.privateKey, { algorithm: "RS256", keyid: "2026-06" });
    const hs = mint(previousSecret, { algorithm: "HS256", keyid: "hs-2025" });
    expect((await me(rs)).status).toBe(200);
    expect((await me(hs)).status).toBe(200);
  });

  it("refuses a token whose kid is unknown, and a key used under another's kid or algorithm", async () => {
    const unknown = await me(
      mint(previousRsa.privateKey, { algorithm: "RS256", keyid: "2024-01" }),
    );
    expect(expectErrorBody(unknown, "UNAUTHORIZED").error.message).toMatch(/key is unknown/);
    for (const token of [
      // A previous key's token naming the current key.
      mint(previousRsa.privateKey, { algorithm: "RS256", keyid: "2026-12" }),
      mint(previousSecret, { algorithm: "HS256", keyid: "2026-12" }),
      // The RS256 key's public half as an HMAC secret (algorithm confusion), under its own kid.
      mint(pem(previousRsa.publicKey, "spki"), { algorithm: "HS256", keyid: "2026-06" }),
    ]) {
      expectErrorBody(await me(token), "UNAUTHORIZED");
    }
  });

  it("publishes the public keys of the current and the previous keys, never a secret", async () => {
    const jwks = (await api.request("GET", "/.well-known/jwks.json")).body as {
      keys: Array<JsonWebKey & { kid: string; alg: string; use: string }>;
    };
    expect(jwks.keys.map(({ kid, alg, use }) => ({ kid, alg, use }))).toEqual([
      { kid: "2026-12", alg: "ES256", use: "sig" },
      { kid: "2026-06", alg: "RS256", use: "sig" },
    ]);
    expect(JSON.stringify(jwks)).not.toContain(Buffer.from(previousSecret).toString("base64url"));
    for (const key of jwks.keys) expect(key.d).toBeUndefined();
    // Another service verifies a previous key's token with what the JWKS gives.
    const published = createPublicKey({ key: jwks.keys[1] as JsonWebKey, format: "jwk" });
    const token = mint(previousRsa.privateKey, { algorithm: "RS256", keyid: "2026-06" });
    expect(jwt.verify(token, published, { algorithms: ["RS256"] })).toMatchObject({
      sub: claims.sub,
    });
  });
});

describe("createAccessTokens", () => {
  const clock = new ManualClock();
  const kidOf = (token: string) => jwt.decode(token, { complete: true })?.header.kid;
  const subject = { userId: "user-1", sessionId: "session-1", appid: "wx-app-1" };

  it("names an HS256 key by a stable kid that tells nothing of the secret, or by JWT_KEY_ID", () => {
    const sign = (options: Partial<typeof config.jwt>) =>
      createAccessTokens({ ...config.jwt, ...options, ttlS: 60 }, clock).sign(subject).token;
    const kid = kidOf(sign({}));
    expect(kid).toMatch(/^[\w-]{16}$/);
    expect(config.jwt.secret).not.toContain(kid);
    expect(kidOf(sign({}))).toBe(kid);
    expect(kidOf(sign({ secret: `${config.jwt.secret}-next` }))).not.toBe(kid);
    expect(kidOf(sign({ keyId: "2026-12" }))).toBe("2026-12");
  });

  it("verifies a token from before kids (HS256, no kid) with the current key only", () => {
    const tokens = createAccessTokens({ ...config.jwt, ttlS: 60 }, clock);
    const claims = {
      sid: subject.sessionId,
      sub: subject.userId,
      iss: config.jwt.issuer,
      aud: config.jwt.audience,
    };
    expect(tokens.verify(jwt.sign(claims, config.jwt.secret, { algorithm: "HS256" }))).toEqual({
      userId: subject.userId,
      sessionId: subject.sessionId,
    });
    const rotated = createAccessTokens(
      {
        ...config.jwt,
        secret: `${config.jwt.secret}-next`,
        previousKeys: [{ kid: "old", secret: config.jwt.secret }],
        ttlS: 60,
      },
      clock,
    );
    expect(() =>
      rotated.verify(jwt.sign(claims, config.jwt.secret, { algorithm: "HS256" })),
    ).toThrow(AppError);
  });

  it("refuses previous keys that share a kid or are no usable public key, naming JWT_PREVIOUS_KEYS", () => {
    const build = (previousKeys: typeof config.jwt.previousKeys) =>
      createAccessTokens({ ...config.jwt, keyId: "current", previousKeys, ttlS: 60 }, clock);
    expect(() => build([{ kid: "current", secret: "x".repeat(32) }])).toThrow(
      /JWT_PREVIOUS_KEYS\[0\]: the kid "current"/,
    );
    expect(() =>
      build([
        { kid: "old", publicKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----" },
      ]),
    ).toThrow(/JWT_PREVIOUS_KEYS\[0\]: publicKey is not a PEM public key/);
    const rsa1024 = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey;
    expect(() =>
      build([
        { kid: "old", publicKey: rsa1024.export({ format: "pem", type: "spki" }).toString() },
      ]),
    ).toThrow(/JWT_PREVIOUS_KEYS\[0\]: publicKey must be an RSA key of at least 2048 bits/);
  });

  it("refuses keys that do not fit the algorithm", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
      format: "pem",
      type: "pkcs8",
    });
    expect(() =>
      createAccessTokens(
        { ...config.jwt, algorithm: "ES256", privateKeyPem: rsa.toString(), ttlS: 60 },
        new ManualClock(),
      ),
    ).toThrow(/ES256 needs an EC P-256 key/);
  });

  it("throws the contract error on a bad token", () => {
    const tokens = createAccessTokens({ ...config.jwt, ttlS: 60 }, new ManualClock());
    expect(() => tokens.verify("nope")).toThrow(AppError);
    const subject = { userId: "user-1", sessionId: "session-1" };
    const token = tokens.sign({ ...subject, appid: "wx-app-1" }).token;
    expect(tokens.verify(token)).toEqual(subject);
    expect(jwt.decode(token)).toMatchObject({ sub: "user-1", sid: "session-1", azp: "wx-app-1" });
  });
});
