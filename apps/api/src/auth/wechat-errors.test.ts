import { RegistrationRequiredSchema, type ErrorCode } from "@wxauth/contracts";
import type { SandboxFailRequest } from "@wxauth/contracts/sandbox";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  expectErrorBody,
  startTestApi,
  uniquePhoneNumber,
  type TestApi,
} from "../testing/harness.js";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ env: { WECHAT_TIMEOUT_MS: "1000" } });
});
afterAll(() => api.close());
// Disarms leftover faults (a fault with spare `times` would leak into the next test).
afterEach(() => api.sandbox.reset());

type Fault = SandboxFailRequest["errcode"];

/** Enough failures to outlast the client's retries. */
const TIMES = 5;

const cases: Array<[string, Fault, number, ErrorCode, boolean]> = [
  ["40029 invalid code", 40029, 401, "WECHAT_CODE_INVALID", false],
  ["40163 code used", 40163, 401, "WECHAT_CODE_USED", false],
  ["40226 user blocked", 40226, 403, "WECHAT_USER_BLOCKED", false],
  ["45011 rate limited", 45011, 429, "WECHAT_RATE_LIMITED", true],
  ["-1 busy after retries", -1, 503, "WECHAT_UNAVAILABLE", true],
  ["a timeout", "timeout", 503, "WECHAT_UNAVAILABLE", true],
  ["HTTP 500", "http500", 503, "WECHAT_UNAVAILABLE", true],
  ["an HTML error page", "html", 503, "WECHAT_UNAVAILABLE", true],
  ["truncated JSON", "truncated", 503, "WECHAT_UNAVAILABLE", true],
  ["40013 wrong appid (misconfigured)", 40013, 503, "WECHAT_UNAVAILABLE", false],
];

describe("login: jscode2session failures map to contract errors", () => {
  it.each(cases)("%s", async (_name, errcode, status, code, retryable) => {
    const { code: loginCode } = await api.loginCode();
    await api.fail({ api: "jscode2session", errcode, times: TIMES });
    const started = Date.now();
    const result = await api.request("POST", "/api/auth/wechat/login", {
      body: { code: loginCode },
    });
    expect(result.status).toBe(status);
    const body = expectErrorBody(result, code);
    expect(body.error.retryable).toBe(retryable);
    // Within the WeChat budget (1 s here), plus the API's own work.
    expect(Date.now() - started).toBeLessThan(2500);
  });
});

describe("register: getuserphonenumber failures map to contract errors and leave the ticket usable", () => {
  it.each(cases.filter(([, errcode]) => errcode !== 40013))(
    "%s",
    async (_name, errcode, status, code, retryable) => {
      const { code: loginCode, openid } = await api.loginCode();
      const login = RegistrationRequiredSchema.parse(await api.login(loginCode));
      const phoneNumber = uniquePhoneNumber();
      await api.fail({ api: "getuserphonenumber", errcode, times: TIMES });
      const failed = await api.request("POST", "/api/auth/wechat/register", {
        body: {
          registrationTicket: login.registrationTicket,
          phoneCode: await api.phoneCode(phoneNumber, openid),
        },
      });
      expect(failed.status).toBe(status);
      expect(expectErrorBody(failed, code).error.retryable).toBe(retryable);
      // Nothing half-written: no account, and the ticket still works once WeChat does.
      expect(
        await api.deps.data.wechatIdentities.findUser(api.deps.apps.primary.appid, openid),
      ).toBeNull();
      api.sandbox.reset();
      const retried = await api.request("POST", "/api/auth/wechat/register", {
        body: {
          registrationTicket: login.registrationTicket,
          phoneCode: await api.phoneCode(phoneNumber, openid),
        },
      });
      expect(retried.status).toBe(201);
    },
  );

  it("a phone code minted for another WeChat user is refused (40029) and creates nothing", async () => {
    const { code: loginCode, openid } = await api.loginCode();
    const login = RegistrationRequiredSchema.parse(await api.login(loginCode));
    const someoneElses = await api.phoneCode(uniquePhoneNumber(), "o_someone_else_openid_000001");
    const result = await api.request("POST", "/api/auth/wechat/register", {
      body: { registrationTicket: login.registrationTicket, phoneCode: someoneElses },
    });
    expectErrorBody(result, "WECHAT_CODE_INVALID");
    expect(
      await api.deps.data.wechatIdentities.findUser(api.deps.apps.primary.appid, openid),
    ).toBeNull();
  });
});

describe("access token failures", () => {
  it("a stable_token outage answers 503 and recovers afterwards", async () => {
    // 40001 makes the client drop its cached access token and fetch a new one, which fails.
    const { code: loginCode, openid } = await api.loginCode();
    const login = RegistrationRequiredSchema.parse(await api.login(loginCode));
    const phoneNumber = uniquePhoneNumber();
    await api.fail({ api: "getuserphonenumber", errcode: 40001, times: 1 });
    await api.fail({ api: "stable_token", errcode: "http500", times: TIMES });
    const failed = await api.request("POST", "/api/auth/wechat/register", {
      body: {
        registrationTicket: login.registrationTicket,
        phoneCode: await api.phoneCode(phoneNumber, openid),
      },
    });
    expect(failed.status).toBe(503);
    expectErrorBody(failed, "WECHAT_UNAVAILABLE");
    api.sandbox.reset();
    const retried = await api.request("POST", "/api/auth/wechat/register", {
      body: {
        registrationTicket: login.registrationTicket,
        phoneCode: await api.phoneCode(phoneNumber, openid),
      },
    });
    expect(retried.status).toBe(201);
  });
});
