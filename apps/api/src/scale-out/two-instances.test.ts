/*
 * The scale-out proof: two built API processes (`node dist/main.js`, as production runs them) on
 * one fresh PostgreSQL database and one Redis, behind a pretend load balancer (TRUST_PROXY, the
 * client address in X-Forwarded-For), with the WeChat sandbox counting what reaches WeChat.
 */
import {
  AuthenticatedSchema,
  DeletionScheduledSchema,
  SessionListSchema,
  TokenPairSchema,
  UserSchema,
  WechatLoginResponseSchema,
  type Authenticated,
} from "@wxauth/contracts";
import { startSandbox, type RunningSandbox } from "@wxauth/wechat-mock";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ensureBuilt,
  startApiProcesses,
  stopApiProcesses,
  type ApiProcess,
} from "../testing/api-process.js";
import { reportFigure } from "../testing/figures.js";
import { deleteTestKeys, randomKeyPrefix, requireRedis, TEST_REDIS_URL } from "../testing/redis.js";
import { expectErrorBody, send, uniquePhoneNumber, type HttpResult } from "../testing/harness.js";
import {
  createTestDatabase,
  dropTestDatabase,
  requirePostgres,
  uniqueTestDatabaseName,
} from "../testing/postgres.js";

const REGISTRATIONS = 60;
const RATE_LIMIT_PER_MINUTE = 8;
/** Short, so the test can step outside it; long enough for a replay on the other instance inside it. */
const REFRESH_REUSE_GRACE_S = 2;
/** Both start on an empty database, so both go to `prisma migrate deploy` (one applies, one waits). */
const START = { startTimeoutMs: 120_000 };

let sandbox: RunningSandbox;
let databaseName: string;
let keyPrefix: string;
let instances: [ApiProcess, ApiProcess];
let startupMs: number;

beforeAll(async () => {
  await Promise.all([requirePostgres(), requireRedis()]);
  ensureBuilt();
  sandbox = await startSandbox({ port: 0, host: "127.0.0.1", log: () => {} });
  // Empty: the instances apply the PostgreSQL migrations themselves at start, concurrently.
  databaseName = uniqueTestDatabaseName();
  const databaseUrl = await createTestDatabase(databaseName);
  keyPrefix = randomKeyPrefix();
  const env = {
    NODE_ENV: "development",
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: keyPrefix,
    WECHAT_API_BASE_URL: sandbox.url,
    WECHAT_TIMEOUT_MS: "5000",
    AUTH_RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT_PER_MINUTE),
    REFRESH_REUSE_GRACE_S: String(REFRESH_REUSE_GRACE_S),
    TRUST_PROXY: "true",
  };
  const started = performance.now();
  const [a, b] = await startApiProcesses(2, env, START);
  startupMs = Math.round(performance.now() - started);
  instances = [a!, b!];
}, 300_000);

afterAll(async () => {
  await stopApiProcesses(instances ?? []);
  await sandbox?.close();
  if (databaseName) await dropTestDatabase(databaseName);
  if (keyPrefix) await deleteTestKeys(keyPrefix);
});

let addressCounter = 0;
/**
 * A client address no other request in this file uses: the rate limit counts per address, so
 * every simulated user comes from its own, like real users behind the load balancer.
 */
function newClientAddress(): string {
  addressCounter += 1;
  return `10.${(addressCounter >> 16) & 255}.${(addressCounter >> 8) & 255}.${addressCounter & 255}`;
}

function call(
  api: ApiProcess,
  method: string,
  path: string,
  { body, token, from }: { body?: unknown; token?: string; from: string },
): Promise<HttpResult> {
  return send(api.url, {
    method,
    path,
    headers: {
      "x-forwarded-for": from,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function dev<T>(path: string, body: unknown): Promise<T> {
  const result = await send(sandbox.url, {
    method: "POST",
    path,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (result.status !== 200) throw new Error(`sandbox ${path}: ${result.status} ${result.text}`);
  return result.body as T;
}

const loginCode = (openid?: string) =>
  dev<{ code: string; openid: string }>("/__dev/login-code", openid ? { openid } : {});

async function login(api: ApiProcess, code: string, from = newClientAddress()) {
  const result = await call(api, "POST", "/api/auth/wechat/login", { body: { code }, from });
  expect(result.status, result.text).toBe(200);
  return WechatLoginResponseSchema.parse(result.body);
}

/** Logs in on `issuer`, which hands out the registration ticket, and redeems it on `redeemer`. */
async function registerAcross(
  issuer: ApiProcess,
  redeemer: ApiProcess,
): Promise<Authenticated & { openid: string }> {
  const from = newClientAddress();
  const { code, openid } = await loginCode();
  const answer = await login(issuer, code, from);
  if (answer.status !== "registration_required") throw new Error("expected a new user");
  const { code: phoneCode } = await dev<{ code: string }>("/__dev/phone-code", {
    phoneNumber: uniquePhoneNumber(),
    openid,
  });
  const result = await call(redeemer, "POST", "/api/auth/wechat/register", {
    body: { registrationTicket: answer.registrationTicket, phoneCode },
    from,
  });
  expect(result.status, result.text).toBe(201);
  return { ...AuthenticatedSchema.parse(result.body), openid };
}

describe("two API processes on one PostgreSQL and one Redis", () => {
  it("60 registrations across both instances, tickets redeemed on the other one, fetch the WeChat access token once", async () => {
    reportFigure("two instances on an empty database, migrated at start, up after (ms)", startupMs);
    const [a, b] = instances;
    const before = sandbox.stats().calls;
    const started = performance.now();
    // Both instances start cold (no token anywhere), and registrations arrive in bursts.
    const sessions: Authenticated[] = [];
    for (let batch = 0; batch < REGISTRATIONS / 10; batch++) {
      sessions.push(
        ...(await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            i % 2 === 0 ? registerAcross(a, b) : registerAcross(b, a),
          ),
        )),
      );
    }
    const elapsedMs = Math.round(performance.now() - started);
    const calls = sandbox.stats().calls;

    expect(new Set(sessions.map((session) => session.user.id)).size).toBe(REGISTRATIONS);
    expect(calls.stable_token - before.stable_token).toBe(1);
    expect(calls.token - before.token).toBe(0);
    expect(calls.getuserphonenumber - before.getuserphonenumber).toBe(REGISTRATIONS);
    // What they shared went through Redis, under this run's REDIS_KEY_PREFIX.
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      expect(await redis.keys(`${keyPrefix}*`)).not.toEqual([]);
    } finally {
      redis.disconnect();
    }
    reportFigure("60 cross-instance registrations", {
      elapsedMs,
      stableTokenFetches: calls.stable_token - before.stable_token,
      phoneNumberCalls: calls.getuserphonenumber - before.getuserphonenumber,
    });
  }, 120_000);

  it("one login code submitted to both instances at once reaches WeChat once, and both answer the same user", async () => {
    const [a, b] = instances;
    const user = await registerAcross(a, b);
    for (let round = 0; round < 5; round++) {
      const { code } = await loginCode(user.openid);
      const before = sandbox.stats().calls.jscode2session;
      const [onA, onB] = await Promise.all([login(a, code), login(b, code)]);
      expect(sandbox.stats().calls.jscode2session - before).toBe(1);
      for (const answer of [onA, onB]) {
        expect(answer.status).toBe("authenticated");
        if (answer.status === "authenticated") expect(answer.user.id).toBe(user.user.id);
      }
    }
  });

  it("access and refresh tokens issued by one instance work on the other, and reuse is caught across them", async () => {
    const [a, b] = instances;
    const from = newClientAddress();
    const session = await registerAcross(a, b); // Issued by b.

    const me = await call(a, "GET", "/api/me", { token: session.accessToken, from });
    expect(me.status, me.text).toBe(200);
    expect(UserSchema.parse(me.body).id).toBe(session.user.id);

    // Rotate on a; the new pair works on b, and b rotates it again.
    const onA = await call(a, "POST", "/api/auth/refresh", {
      body: { refreshToken: session.refreshToken },
      from,
    });
    expect(onA.status, onA.text).toBe(200);
    const rotated = TokenPairSchema.parse(onA.body);
    expect((await call(b, "GET", "/api/me", { token: rotated.accessToken, from })).status).toBe(
      200,
    );
    // Inside the grace window, a replay on the other instance (a retried request that the load
    // balancer sent elsewhere) gets the same successor, not a revocation.
    const replayInGrace = await call(b, "POST", "/api/auth/refresh", {
      body: { refreshToken: session.refreshToken },
      from,
    });
    expect(replayInGrace.status, replayInGrace.text).toBe(200);
    expect(TokenPairSchema.parse(replayInGrace.body).refreshToken).toBe(rotated.refreshToken);

    const onB = await call(b, "POST", "/api/auth/refresh", {
      body: { refreshToken: rotated.refreshToken },
      from,
    });
    expect(onB.status, onB.text).toBe(200);
    const latest = TokenPairSchema.parse(onB.body);

    // Outside the grace window, replaying a rotated token on the other instance is theft: the
    // whole family is revoked, on both instances.
    await new Promise((resolve) => setTimeout(resolve, REFRESH_REUSE_GRACE_S * 1000 + 500));
    const replay = await call(a, "POST", "/api/auth/refresh", {
      body: { refreshToken: rotated.refreshToken },
      from,
    });
    expect(replay.status).toBe(401);
    expectErrorBody(replay, "REFRESH_TOKEN_REUSED");
    const afterRevocation = await call(b, "POST", "/api/auth/refresh", {
      body: { refreshToken: latest.refreshToken },
      from,
    });
    expect(afterRevocation.status).toBe(401);
    // The revoked family's access tokens are refused at once, on both instances.
    for (const api of [a, b]) {
      const refused = await call(api, "GET", "/api/me", { token: latest.accessToken, from });
      expectErrorBody(refused, "UNAUTHORIZED");
    }
  });

  it("a session revoked on one instance is refused on the other at once; so is every session after sign-out everywhere or a deletion request", async () => {
    const [a, b] = instances;
    const from = newClientAddress();
    const first = await registerAcross(a, b);
    const signInOn = async (api: ApiProcess) => {
      const answer = await login(api, (await loginCode(first.openid)).code);
      if (answer.status !== "authenticated") throw new Error("expected a returning user");
      return answer;
    };
    const meStatus = async (api: ApiProcess, token: string) =>
      (await call(api, "GET", "/api/me", { token, from })).status;

    const second = await signInOn(b);
    const listed = await call(a, "GET", "/api/me/sessions", { token: first.accessToken, from });
    const { sessions } = SessionListSchema.parse(listed.body);
    expect(sessions.map((session) => session.current)).toEqual([false, true]);
    expect(await meStatus(b, second.accessToken)).toBe(200);
    const revoked = await call(a, "DELETE", `/api/me/sessions/${sessions[0]!.id}`, {
      token: first.accessToken,
      from,
    });
    expect(revoked.status).toBe(204);
    expect(await meStatus(b, second.accessToken)).toBe(401);
    expect(await meStatus(b, first.accessToken)).toBe(200);

    const third = await signInOn(a);
    const all = await call(b, "DELETE", "/api/me/sessions", { token: third.accessToken, from });
    expect(all.status).toBe(204);
    for (const api of [a, b]) {
      expect(await meStatus(api, first.accessToken)).toBe(401);
      expect(await meStatus(api, third.accessToken)).toBe(401);
    }

    const [fourth, fifth] = [await signInOn(b), await signInOn(a)];
    const deletion = await call(a, "POST", "/api/me/deletion", { token: fourth.accessToken, from });
    expect(deletion.status, deletion.text).toBe(202);
    const { deletionScheduledAt } = DeletionScheduledSchema.parse(deletion.body);
    expect(await meStatus(b, fifth.accessToken)).toBe(401);
    // Signing in during the cooling-off period, on the other instance, shows the date; cancel.
    const sixth = await signInOn(b);
    expect(sixth.user.deletionScheduledAt).toBe(deletionScheduledAt);
    const cancelled = await call(a, "DELETE", "/api/me/deletion", {
      token: sixth.accessToken,
      from,
    });
    expect(UserSchema.parse(cancelled.body).deletionScheduledAt).toBeNull();
  });

  it("the auth rate limit counts one client's requests on both instances together", async () => {
    const [a, b] = instances;
    const from = newClientAddress();
    const statuses: number[] = [];
    for (let i = 0; i < RATE_LIMIT_PER_MINUTE + 2; i++) {
      const result = await call(i % 2 === 0 ? a : b, "POST", "/api/auth/refresh", {
        body: { refreshToken: "not-a-refresh-token-this-instance-issued" },
        from,
      });
      statuses.push(result.status);
      if (result.status === 429) expectErrorBody(result, "RATE_LIMITED");
    }
    // Per instance, the client stayed at half the limit: only the shared count can trip it.
    expect(statuses).toEqual([
      ...Array.from({ length: RATE_LIMIT_PER_MINUTE }, () => 401),
      429,
      429,
    ]);
  });
});
