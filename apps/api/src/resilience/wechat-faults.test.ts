/*
 * WeChat going wrong, injected through the sandbox's /__dev/fail: every kind of outage gives 503
 * WECHAT_UNAVAILABLE (retryable) within the WeChat budget, a short burst is absorbed by the
 * client's retries, the access token manager recovers, and nothing is half-written (checked in
 * the database itself, not only through the API).
 */
import { RegistrationRequiredSchema, UserSchema } from "@wxauth/contracts";
import type { SandboxApi, SandboxFailRequest } from "@wxauth/contracts/sandbox";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { hashOpaqueToken } from "../auth/opaque-tokens.js";
import {
  expectErrorBody,
  startTestApi,
  uniquePhoneNumber,
  type HttpResult,
  type TestApi,
} from "../testing/harness.js";
import { reportFigure } from "../testing/figures.js";
import { timed, type Timed } from "../testing/outage.js";

const WECHAT_TIMEOUT_MS = 1500;
/** The API's own work on top of the WeChat budget, on a loaded 2-core machine. */
const SLACK_MS = 1500;
/** More failures than the client's retries (2) can absorb. */
const OUTLASTING_RETRIES = 5;

type Fault = NonNullable<SandboxFailRequest["errcode"]>;
const OUTAGES: Array<[string, Fault]> = [
  ["a timeout", "timeout"],
  ["a burst of -1 (system busy)", -1],
  ["HTTP 5xx", "http500"],
  ["an HTML error page", "html"],
  ["truncated JSON", "truncated"],
];
/** Faults a retry can get past; a timeout uses up the whole budget, so it is not among them. */
const RETRYABLE_BLIPS = OUTAGES.filter(([, fault]) => fault !== "timeout");

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ env: { WECHAT_TIMEOUT_MS: String(WECHAT_TIMEOUT_MS) } });
});
afterAll(() => api.close());
afterEach(() => api.sandbox.reset());

const figures: Record<string, number> = {};
afterAll(() => reportFigure("WeChat outage -> 503 latencies (ms)", figures));

/** `request`, timed, its latency kept under `label` for the figures printed at the end. */
async function timedAs(label: string, request: Promise<HttpResult>): Promise<Timed> {
  const result = await timed(request);
  figures[label] = result.elapsedMs;
  return result;
}

function expectWechatUnavailableInBudget(result: Timed): void {
  expect(result.status).toBe(503);
  expect(expectErrorBody(result, "WECHAT_UNAVAILABLE").error.retryable).toBe(true);
  expect(result.elapsedMs).toBeLessThan(WECHAT_TIMEOUT_MS + SLACK_MS);
}

async function callsOf(wechatApi: SandboxApi): Promise<number> {
  return (await api.stats()).calls[wechatApi];
}

async function ticketRow(registrationTicket: string) {
  return api.deps.db
    .selectFrom("registration_tickets")
    .select(["used_at as usedAt", "claimed_until as claimedUntil"])
    .where("token_hash", "=", hashOpaqueToken(registrationTicket))
    .executeTakeFirst();
}

async function userRow(column: "openid" | "id", value: string) {
  const user =
    column === "id"
      ? await api.deps.data.users.findById(value)
      : await api.deps.data.wechatIdentities.findUser(api.deps.apps.primary.appid, value);
  return user && { phone: user.phone };
}

/** A new WeChat user, signed in as far as the registration ticket. */
async function newUserWithTicket() {
  const { code, openid } = await api.loginCode();
  const login = RegistrationRequiredSchema.parse(await api.login(code));
  return { openid, registrationTicket: login.registrationTicket };
}

const register = (registrationTicket: string, phoneCode: string) =>
  api.request("POST", "/api/auth/wechat/register", { body: { registrationTicket, phoneCode } });

/** Nothing half-written: the failed registration left no account and a ticket still usable. */
async function expectNothingWritten(openid: string, registrationTicket: string): Promise<void> {
  expect(await userRow("openid", openid)).toBeNull();
  const ticket = await ticketRow(registrationTicket);
  expect(ticket?.usedAt).toBeNull();
  // The lease taken for the redemption was given back, so a retry is not refused as "in use".
  expect(ticket?.claimedUntil).toBeNull();
}

describe("login (jscode2session)", () => {
  it.each(OUTAGES)("%s: 503 WECHAT_UNAVAILABLE within the budget", async (name, fault) => {
    const { code, openid } = await api.loginCode();
    await api.fail({ api: "jscode2session", errcode: fault, times: OUTLASTING_RETRIES });
    const result = await timedAs(
      `login, ${name}`,
      api.request("POST", "/api/auth/wechat/login", { body: { code } }),
    );
    expectWechatUnavailableInBudget(result);
    // Once WeChat is back, the same user signs in with the next wx.login code. (The sandbox's
    // reset forgets every code it minted, so a new one is needed.)
    api.sandbox.reset();
    const retried = await api.loginCode({ openid });
    expect((await api.login(retried.code)).status).toBe("registration_required");
  });

  it.each(RETRYABLE_BLIPS)(
    "a short burst of %s is absorbed by the retries",
    async (_name, fault) => {
      const { code } = await api.loginCode();
      const before = await callsOf("jscode2session");
      await api.fail({ api: "jscode2session", errcode: fault, times: 2 });
      const result = await api.request("POST", "/api/auth/wechat/login", { body: { code } });
      expect(result.status).toBe(200);
      expect(RegistrationRequiredSchema.safeParse(result.body).success).toBe(true);
      expect((await callsOf("jscode2session")) - before).toBe(3);
    },
  );
});

describe("register (getuserphonenumber)", () => {
  it.each(OUTAGES)(
    "%s: 503 within the budget, no account, the ticket not used and good for a retry",
    async (name, fault) => {
      const { openid, registrationTicket } = await newUserWithTicket();
      const phoneNumber = uniquePhoneNumber();
      await api.fail({ api: "getuserphonenumber", errcode: fault, times: OUTLASTING_RETRIES });
      const failed = await timedAs(
        `register, ${name}`,
        register(registrationTicket, await api.phoneCode(phoneNumber, openid)),
      );
      expectWechatUnavailableInBudget(failed);
      await expectNothingWritten(openid, registrationTicket);

      api.sandbox.reset();
      const retried = await register(registrationTicket, await api.phoneCode(phoneNumber, openid));
      expect(retried.status).toBe(201);
      expect((await ticketRow(registrationTicket))?.usedAt).not.toBeNull();
      const user = await userRow("openid", openid);
      expect(user?.phone).toBe(`+86${phoneNumber}`);
    },
  );

  it.each(RETRYABLE_BLIPS)(
    "a short burst of %s is absorbed by the retries",
    async (_name, fault) => {
      const { openid, registrationTicket } = await newUserWithTicket();
      await api.fail({ api: "getuserphonenumber", errcode: fault, times: 2 });
      const result = await register(
        registrationTicket,
        await api.phoneCode(uniquePhoneNumber(), openid),
      );
      expect(result.status).toBe(201);
    },
  );
});

describe("bind phone (POST /api/me/phone)", () => {
  it.each(OUTAGES)("%s: 503 within the budget and the phone unchanged", async (name, fault) => {
    const session = await api.register();
    const newNumber = uniquePhoneNumber();
    await api.fail({ api: "getuserphonenumber", errcode: fault, times: OUTLASTING_RETRIES });
    const failed = await timedAs(
      `bind phone, ${name}`,
      api.request("POST", "/api/me/phone", {
        token: session.accessToken,
        body: { phoneCode: await api.phoneCode(newNumber, session.openid) },
      }),
    );
    expectWechatUnavailableInBudget(failed);
    const stored = await userRow("id", session.user.id);
    expect(stored?.phone).toBe(session.user.phone);

    api.sandbox.reset();
    const retried = await api.request("POST", "/api/me/phone", {
      token: session.accessToken,
      body: { phoneCode: await api.phoneCode(newNumber, session.openid) },
    });
    expect(retried.status).toBe(200);
    expect(UserSchema.parse(retried.body).phone).toBe(`+86${newNumber}`);
  });
});

describe("the access token (stable_token) failing", () => {
  it.each(OUTAGES)(
    "%s: registration answers 503 within the budget, and the token manager recovers once WeChat does",
    async (name, fault) => {
      const { openid, registrationTicket } = await newUserWithTicket();
      const phoneNumber = uniquePhoneNumber();
      // 40001 (token rejected) makes the client drop its cached token and fetch a new one.
      await api.fail({ api: "getuserphonenumber", errcode: 40001, times: 1 });
      await api.fail({ api: "stable_token", errcode: fault, times: OUTLASTING_RETRIES });
      const failed = await timedAs(
        `register, stable_token ${name}`,
        register(registrationTicket, await api.phoneCode(phoneNumber, openid)),
      );
      expectWechatUnavailableInBudget(failed);
      await expectNothingWritten(openid, registrationTicket);

      api.sandbox.reset();
      const tokenCallsBefore = await callsOf("stable_token");
      const retried = await register(registrationTicket, await api.phoneCode(phoneNumber, openid));
      expect(retried.status).toBe(201);
      // Recovered: one fetch of a new token, which the next registration reuses.
      expect((await callsOf("stable_token")) - tokenCallsBefore).toBe(1);
      const next = await newUserWithTicket();
      expect(
        (
          await register(
            next.registrationTicket,
            await api.phoneCode(uniquePhoneNumber(), next.openid),
          )
        ).status,
      ).toBe(201);
      expect((await callsOf("stable_token")) - tokenCallsBefore).toBe(1);
    },
  );
});

describe("after every fault above", () => {
  it("phone mode holds no account without a phone", async () => {
    expect(
      await api.deps.db.selectFrom("users").select("id").where("phone", "is", null).execute(),
    ).toHaveLength(0);
  });
});
