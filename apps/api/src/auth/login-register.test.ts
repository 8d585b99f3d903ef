import {
  AuthenticatedSessionSchema,
  RegistrationRequiredSchema,
  UserSchema,
  WechatLoginResponseSchema,
} from "@wxauth/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectErrorBody, startTestApi, uniquePhoneNumber, type TestApi } from "../test/harness.js";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

describe("POST /api/auth/wechat/login (phone mode)", () => {
  it("answers a new WeChat user with an opaque registration ticket", async () => {
    const { code, openid } = await api.loginCode();
    const result = await api.request("POST", "/api/auth/wechat/login", { body: { code } });
    expect(result.status).toBe(200);
    const answer = RegistrationRequiredSchema.parse(result.body);
    expect(answer.expiresIn).toBeLessThanOrEqual(600);
    expect(answer.registrationTicket).not.toContain(openid);
    expect(result.text).not.toContain(openid);
    expect(result.text).not.toMatch(/session_?key/i);
  });

  it("keeps the session_key encrypted at rest, with the time it was obtained", async () => {
    const { code, openid } = await api.loginCode();
    await api.login(code);
    const row = await api.deps.data.wechatSessions.findByOpenid(openid);
    expect(row?.sessionKeyCiphertext).toMatch(/^v1\./);
    expect(Math.abs((row?.obtainedAt.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);
  });

  it("signs a registered user straight in, without the openid in the answer", async () => {
    const registered = await api.register();
    const { code } = await api.loginCode({ openid: registered.openid });
    const result = await api.request("POST", "/api/auth/wechat/login", { body: { code } });
    expect(result.status).toBe(200);
    const answer = AuthenticatedSessionSchema.parse(result.body);
    expect(answer.user.id).toBe(registered.user.id);
    expect(result.text).not.toContain(registered.openid);
  });
});

describe("POST /api/auth/wechat/register", () => {
  it("creates the user bound to the openid and the E.164 phone, and answers 201", async () => {
    const phoneNumber = uniquePhoneNumber();
    const { code, openid } = await api.loginCode();
    const login = RegistrationRequiredSchema.parse(await api.login(code));
    const phoneCode = await api.phoneCode(phoneNumber, openid);
    const result = await api.request("POST", "/api/auth/wechat/register", {
      body: { registrationTicket: login.registrationTicket, phoneCode },
    });
    expect(result.status).toBe(201);
    const session = AuthenticatedSessionSchema.parse(result.body);
    expect(session.user.phone).toBe(`+86${phoneNumber}`);
    expect(result.text).not.toContain(openid);

    const me = await api.request("GET", "/api/me", { token: session.accessToken });
    expect(me.status).toBe(200);
    expect(UserSchema.parse(me.body)).toEqual(session.user);
  });

  it("binds the openid to an existing account that has the phone but no WeChat", async () => {
    const phoneNumber = uniquePhoneNumber();
    const existing = await api.deps.data.users.create({ phone: `+86${phoneNumber}` });
    const registered = await api.register({ phoneNumber });
    expect(registered.user.id).toBe(existing.id);
    const row = await api.deps.data.users.findById(existing.id);
    expect(row?.openid).toBe(registered.openid);
  });

  it("refuses a phone bound to another WeChat account with 409 PHONE_ALREADY_BOUND", async () => {
    const phoneNumber = uniquePhoneNumber();
    await api.register({ phoneNumber });
    const { code, openid } = await api.loginCode();
    const login = RegistrationRequiredSchema.parse(await api.login(code));
    const result = await api.request("POST", "/api/auth/wechat/register", {
      body: {
        registrationTicket: login.registrationTicket,
        phoneCode: await api.phoneCode(phoneNumber, openid),
      },
    });
    expect(result.status).toBe(409);
    expectErrorBody(result, "PHONE_ALREADY_BOUND");
    expect(await api.deps.data.users.findByOpenid(openid)).toBeNull();
  });
});

describe("login answers", () => {
  it("parse with the contract schema", async () => {
    const { code } = await api.loginCode();
    const result = await api.request("POST", "/api/auth/wechat/login", { body: { code } });
    expect(WechatLoginResponseSchema.safeParse(result.body).success).toBe(true);
  });
});
