/*
 * The SMS limits and codes across instances: two built API processes on one PostgreSQL database
 * and one Redis, behind a pretend load balancer (TRUST_PROXY, the client address in
 * X-Forwarded-For), with the sandbox standing in for WeChat and for Tencent Cloud SMS. Every
 * limit is reached by sends spread over both instances.
 */
import { AuthenticatedSchema, WechatLoginResponseSchema } from "@wxauth/contracts";
import { startSandbox, type RunningSandbox } from "@wxauth/wechat-mock";
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

const PHONE_INTERVAL_S = 2;
const PHONE_DAILY_LIMIT = 3;
const TICKET_HOURLY_LIMIT = 3;
const IP_HOURLY_LIMIT = 4;

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
  const env = {
    NODE_ENV: "development",
    LOG_LEVEL: "warn",
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: keyPrefix,
    WECHAT_API_BASE_URL: sandbox.url,
    SMS_PROVIDER: "tencent",
    TENCENT_SMS_ENDPOINT: sandbox.url,
    SMS_PHONE_INTERVAL_S: String(PHONE_INTERVAL_S),
    SMS_PHONE_DAILY_LIMIT: String(PHONE_DAILY_LIMIT),
    SMS_SUBJECT_HOURLY_LIMIT: String(TICKET_HOURLY_LIMIT),
    SMS_IP_HOURLY_LIMIT: String(IP_HOURLY_LIMIT),
    AUTH_RATE_LIMIT_PER_MINUTE: "100000",
    TRUST_PROXY: "true",
  };
  const [a, b] = await startApiProcesses(2, env, { startTimeoutMs: 120_000 });
  instances = [a!, b!];
}, 300_000);

afterAll(async () => {
  await stopApiProcesses(instances ?? []);
  await sandbox?.close();
  if (databaseName) await dropTestDatabase(databaseName);
  if (keyPrefix) await deleteTestKeys(keyPrefix);
});

let addressCounter = 0;
/** A client address of its own, so only the limit a test is about can be reached. */
const newClientAddress = () => `10.20.${(++addressCounter >> 8) & 255}.${addressCounter & 255}`;

function post(api: ApiProcess, path: string, body: unknown, from: string): Promise<HttpResult> {
  return send(api.url, {
    method: "POST",
    path,
    headers: { "content-type": "application/json", "x-forwarded-for": from },
    body: JSON.stringify(body),
  });
}

async function newTicket(api: ApiProcess): Promise<string> {
  const minted = await send(sandbox.url, {
    method: "POST",
    path: "/__dev/login-code",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  const { code } = minted.body as { code: string };
  const login = await post(api, "/api/auth/wechat/login", { code }, newClientAddress());
  const answer = WechatLoginResponseSchema.parse(login.body);
  if (answer.status !== "registration_required") throw new Error("expected a new user");
  return answer.registrationTicket;
}

const sendCode = (api: ApiProcess, registrationTicket: string, phone: string, from: string) =>
  post(api, "/api/auth/sms/send", { registrationTicket, phone }, from);

function codeSentTo(phone: string): string {
  const code = sandbox.state.smsMessages(phone)[0]?.params[0];
  if (code === undefined) throw new Error(`no SMS reached ${phone}`);
  return code;
}

function expectLimited(result: HttpResult): number {
  expect(result.status, result.text).toBe(429);
  expectErrorBody(result, "SMS_RATE_LIMITED");
  return Number(result.headers["retry-after"]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("SMS across two API processes on one Redis", () => {
  it("sends one code per phone per interval, whichever instance is asked", async () => {
    const [a, b] = instances;
    const phone = `+86${uniquePhoneNumber()}`;
    expect((await sendCode(a, await newTicket(a), phone, newClientAddress())).status).toBe(200);
    const retryAfter = expectLimited(
      await sendCode(b, await newTicket(b), phone, newClientAddress()),
    );
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(PHONE_INTERVAL_S);
    expect(sandbox.state.smsMessages(phone)).toHaveLength(1);
  });

  it("sends at most the daily limit per phone, counted on both instances together", async () => {
    const phone = `+86${uniquePhoneNumber()}`;
    for (let sent = 0; sent < PHONE_DAILY_LIMIT; sent++) {
      const api = instances[sent % 2]!;
      const result = await sendCode(api, await newTicket(api), phone, newClientAddress());
      expect(result.status, result.text).toBe(200);
      await sleep(PHONE_INTERVAL_S * 1000 + 100);
    }
    const api = instances[PHONE_DAILY_LIMIT % 2]!;
    const retryAfter = expectLimited(
      await sendCode(api, await newTicket(api), phone, newClientAddress()),
    );
    expect(retryAfter).toBeGreaterThan(80_000);
    expect(sandbox.state.smsMessages(phone)).toHaveLength(PHONE_DAILY_LIMIT);
  }, 60_000);

  it("sends at most the hourly limit per ticket, counted on both instances together", async () => {
    const ticket = await newTicket(instances[0]);
    for (let sent = 0; sent < TICKET_HOURLY_LIMIT; sent++) {
      const result = await sendCode(
        instances[sent % 2]!,
        ticket,
        uniquePhoneNumber(),
        newClientAddress(),
      );
      expect(result.status, result.text).toBe(200);
    }
    expectLimited(
      await sendCode(
        instances[TICKET_HOURLY_LIMIT % 2]!,
        ticket,
        uniquePhoneNumber(),
        newClientAddress(),
      ),
    );
  });

  it("sends at most the hourly limit per client address, on both instances together", async () => {
    const from = newClientAddress();
    for (let sent = 0; sent < IP_HOURLY_LIMIT; sent++) {
      const api = instances[sent % 2]!;
      const result = await sendCode(api, await newTicket(api), uniquePhoneNumber(), from);
      expect(result.status, result.text).toBe(200);
    }
    const api = instances[IP_HOURLY_LIMIT % 2]!;
    expectLimited(await sendCode(api, await newTicket(api), uniquePhoneNumber(), from));
  });

  it("verifies a code sent by one instance on the other, once when both get it", async () => {
    const [a, b] = instances;
    for (let round = 0; round < 5; round++) {
      const phone = uniquePhoneNumber();
      const from = newClientAddress();
      const ticket = await newTicket(a);
      expect((await sendCode(a, ticket, phone, from)).status).toBe(200);
      const body = { registrationTicket: ticket, phone, smsCode: codeSentTo(`+86${phone}`) };
      const results = await Promise.all([
        post(a, "/api/auth/wechat/register", body, from),
        post(b, "/api/auth/wechat/register", body, from),
      ]);
      expect(results.map((result) => result.status).sort()).toEqual([201, 401]);
      const winner = results.find((result) => result.status === 201)!;
      expect(AuthenticatedSchema.parse(winner.body).user.phone).toBe(`+86${phone}`);
    }
  });
});
