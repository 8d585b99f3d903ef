/*
 * Two mini programs served by two built API processes on one PostgreSQL and one Redis: each app
 * has its own WeChat access token, shared by both instances, and each app's token redeems only its
 * own phone codes. The sandbox cannot tell which app a token was sent "for" (a call carries only
 * the token), but a phone code minted for one app is refused (40029) with another app's token.
 */
import { randomUUID } from "node:crypto";
import { AuthenticatedSessionSchema, WechatLoginResponseSchema } from "@wxauth/contracts";
import {
  SANDBOX_APPID,
  SANDBOX_SECOND_APPID,
  SANDBOX_SECOND_SECRET,
  SANDBOX_SECRET,
} from "@wxauth/contracts/sandbox";
import { startSandbox, type RunningSandbox } from "@wxauth/wechat-mock";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ensureBuilt,
  startApiProcesses,
  stopApiProcesses,
  type ApiProcess,
} from "../testing/api-process.js";
import { expectErrorBody, send, uniquePhoneNumber, type HttpResult } from "../testing/harness.js";
import {
  createTestDatabase,
  dropTestDatabase,
  requirePostgres,
  uniqueTestDatabaseName,
} from "../testing/postgres.js";
import { deleteTestKeys, randomKeyPrefix, requireRedis, TEST_REDIS_URL } from "../testing/redis.js";

const SHOP = SANDBOX_APPID;
const STAFF = SANDBOX_SECOND_APPID;

let sandbox: RunningSandbox;
let databaseName: string;
let keyPrefix: string;
let instances: [ApiProcess, ApiProcess];

beforeAll(async () => {
  await Promise.all([requirePostgres(), requireRedis()]);
  ensureBuilt();
  sandbox = await startSandbox({ port: 0, host: "127.0.0.1", log: () => {} });
  databaseName = uniqueTestDatabaseName();
  const databaseUrl = await createTestDatabase(databaseName);
  keyPrefix = randomKeyPrefix();
  const [a, b] = await startApiProcesses(
    2,
    {
      NODE_ENV: "development",
      DATABASE_URL: databaseUrl,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: keyPrefix,
      WECHAT_API_BASE_URL: sandbox.url,
      WECHAT_APPS: JSON.stringify([
        { appid: SHOP, secret: SANDBOX_SECRET, name: "shop" },
        { appid: STAFF, secret: SANDBOX_SECOND_SECRET, name: "staff" },
      ]),
      AUTH_RATE_LIMIT_PER_MINUTE: "1000000",
    },
    { startTimeoutMs: 120_000 },
  );
  instances = [a!, b!];
}, 300_000);

afterAll(async () => {
  await stopApiProcesses(instances ?? []);
  await sandbox?.close();
  if (databaseName) await dropTestDatabase(databaseName);
  if (keyPrefix) await deleteTestKeys(keyPrefix);
});

function post(api: ApiProcess, path: string, body: unknown): Promise<HttpResult> {
  return send(api.url, {
    method: "POST",
    path,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
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

/** A new person's registration ticket from `appid`, asked of `issuer`. */
async function ticketFrom(issuer: ApiProcess, appid: string) {
  const person = `person-${randomUUID()}`;
  const { code, openid } = await dev<{ code: string; openid: string }>("/__dev/login-code", {
    appid,
    person,
  });
  const result = await post(issuer, "/api/auth/wechat/login", { code, appid });
  expect(result.status, result.text).toBe(200);
  const answer = WechatLoginResponseSchema.parse(result.body);
  if (answer.status !== "registration_required") throw new Error("expected a new user");
  return { ticket: answer.registrationTicket, openid, person };
}

const phoneCode = async (appid: string, openid: string) =>
  (
    await dev<{ code: string }>("/__dev/phone-code", {
      phoneNumber: uniquePhoneNumber(),
      openid,
      appid,
    })
  ).code;

/** Registers a new person in `appid`: the ticket from `issuer`, redeemed on `redeemer`. */
async function registerAcross(appid: string, issuer: ApiProcess, redeemer: ApiProcess) {
  const { ticket, openid } = await ticketFrom(issuer, appid);
  const result = await post(redeemer, "/api/auth/wechat/register", {
    registrationTicket: ticket,
    phoneCode: await phoneCode(appid, openid),
  });
  expect(result.status, result.text).toBe(201);
  return AuthenticatedSessionSchema.parse(result.body);
}

/** Each app's access token as the shared store holds it. */
async function storedTokens(): Promise<Record<string, string | null>> {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const entries = await Promise.all(
      [SHOP, STAFF].map(async (appid) => {
        const keys = await redis.keys(`${keyPrefix}*${appid}:access_token`);
        expect(keys).toHaveLength(1);
        const stored = await redis.get(keys[0]!);
        return [appid, stored && (JSON.parse(stored) as { token: string }).token] as const;
      }),
    );
    return Object.fromEntries(entries);
  } finally {
    redis.disconnect();
  }
}

describe("two apps on two instances sharing one Redis", () => {
  it("each app fetches its own access token once for both instances, and uses it only for its own phone codes", async () => {
    const [a, b] = instances;
    const before = sandbox.stats().calls;
    const registered = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        registerAcross(i % 2 === 0 ? SHOP : STAFF, i % 4 < 2 ? a : b, i % 4 < 2 ? b : a),
      ),
    );
    expect(new Set(registered.map((session) => session.user.id)).size).toBe(12);
    const calls = sandbox.stats().calls;
    // One stable_token per app, whatever the instance: both instances share each app's token.
    expect(calls.stable_token - before.stable_token).toBe(2);
    expect(calls.getuserphonenumber - before.getuserphonenumber).toBe(12);
    const tokens = await storedTokens();
    expect(tokens[SHOP]).toBeTruthy();
    expect(tokens[STAFF]).toBeTruthy();
    expect(tokens[SHOP]).not.toBe(tokens[STAFF]);

    // A ticket of one app with a phone code of the other: redeemed with the ticket's app's token,
    // which WeChat refuses for another app's code, on either instance.
    for (const [issuer, redeemer] of [
      [a, b],
      [b, a],
    ] as const) {
      const { ticket, person } = await ticketFrom(issuer, SHOP);
      const { openid: staffOpenid } = await dev<{ openid: string }>("/__dev/login-code", {
        appid: STAFF,
        person,
      });
      const refused = await post(redeemer, "/api/auth/wechat/register", {
        registrationTicket: ticket,
        phoneCode: await phoneCode(STAFF, staffOpenid),
      });
      expectErrorBody(refused, "WECHAT_CODE_INVALID");
    }
  }, 120_000);

  it("a 40001 on one app renews that app's token only", async () => {
    const [a, b] = instances;
    const tokensBefore = await storedTokens();
    const before = sandbox.stats().calls;
    await dev("/__dev/fail", { api: "getuserphonenumber", errcode: 40001, times: 1 });
    // The shop's call meets the 40001: its client drops the shop's token, fetches it again, retries.
    await registerAcross(SHOP, a, b);
    const afterShop = sandbox.stats().calls;
    expect(afterShop.stable_token - before.stable_token).toBe(1);
    expect(afterShop.getuserphonenumber - before.getuserphonenumber).toBe(2);
    // The staff app's token was left alone: it is still stored, and serves without a fetch.
    expect((await storedTokens())[STAFF]).toBe(tokensBefore[STAFF]);
    await registerAcross(STAFF, b, a);
    expect(sandbox.stats().calls.stable_token).toBe(afterShop.stable_token);
  }, 60_000);
});
