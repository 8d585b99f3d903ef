/*
 * Changing the phone by SMS: POST /api/me/phone/sms sends a code to the new phone, and
 * POST /api/me/phone binds it with the phone and that code (the getPhoneNumber way is in me.test).
 */
import { SmsCodeSentSchema, UserSchema } from "@wxauth/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectErrorBody,
  startTestApi,
  uniquePhoneNumber,
  type HttpResult,
  type TestApi,
} from "../testing/harness.js";

function phoneChange(api: TestApi) {
  return {
    send: (token: string, phone: string): Promise<HttpResult> =>
      api.request("POST", "/api/me/phone/sms", { token, body: { phone } }),
    bind: (token: string, phone: string, smsCode: string): Promise<HttpResult> =>
      api.request("POST", "/api/me/phone", { token, body: { phone, smsCode } }),
    codeSentTo(phone: string): string {
      const code = api.smsCode(phone);
      if (code === undefined) throw new Error(`no SMS reached ${phone}`);
      return code;
    },
  };
}

describe("changing the phone by SMS", () => {
  let api: TestApi;
  let sms: ReturnType<typeof phoneChange>;
  beforeAll(async () => {
    api = await startTestApi({ env: { SMS_IP_HOURLY_LIMIT: "1000" } });
    sms = phoneChange(api);
  });
  afterAll(() => api.close());

  it("sends a code to the new phone and binds it with that code", async () => {
    const { accessToken, user } = await api.register();
    const next = uniquePhoneNumber();
    const sent = await sms.send(accessToken, next);
    expect(sent.status, sent.text).toBe(200);
    expect(SmsCodeSentSchema.parse(sent.body)).toEqual({ expiresIn: 300, retryAfter: 60 });

    const bound = await sms.bind(accessToken, `+86${next}`, sms.codeSentTo(`+86${next}`));
    expect(bound.status, bound.text).toBe(200);
    expect(UserSchema.parse(bound.body)).toMatchObject({ id: user.id, phone: `+86${next}` });
    const me = await api.request("GET", "/api/me", { token: accessToken });
    expect(UserSchema.parse(me.body).phone).toBe(`+86${next}`);
  });

  it("refuses a phone another account holds with 409, once the code proves it", async () => {
    const holder = await api.register();
    const { accessToken, user } = await api.register();
    const taken = holder.user.phone!;
    expect((await sms.send(accessToken, taken)).status).toBe(200);
    const refused = await sms.bind(accessToken, taken, sms.codeSentTo(taken));
    expect(refused.status).toBe(409);
    expectErrorBody(refused, "PHONE_ALREADY_BOUND");
    expect((await api.deps.data.users.findById(user.id))?.phone).toBe(user.phone);
  });

  it("binds a code to the user it was sent for, and to its purpose", async () => {
    const mine = await api.register();
    const someoneElse = await api.register();
    const next = uniquePhoneNumber();
    await sms.send(mine.accessToken, next);
    const code = sms.codeSentTo(`+86${next}`);
    expectErrorBody(await sms.bind(someoneElse.accessToken, next, code), "SMS_CODE_INVALID");

    // A code sent for registering never changes a phone.
    const { code: loginCode } = await api.loginCode();
    const answer = await api.login(loginCode);
    if (answer.status !== "registration_required") throw new Error("expected a ticket");
    const other = uniquePhoneNumber();
    await api.request("POST", "/api/auth/sms/send", {
      body: { registrationTicket: answer.registrationTicket, phone: other },
    });
    const registrationCode = sms.codeSentTo(`+86${other}`);
    expectErrorBody(await sms.bind(mine.accessToken, other, registrationCode), "SMS_CODE_INVALID");

    expect((await sms.bind(mine.accessToken, next, code)).status).toBe(200);
  });

  it("ends a code after five wrong tries", async () => {
    const { accessToken } = await api.register();
    const next = uniquePhoneNumber();
    await sms.send(accessToken, next);
    const code = sms.codeSentTo(`+86${next}`);
    const wrong = code === "000000" ? "111111" : "000000";
    for (let attempt = 0; attempt < 5; attempt++) {
      expectErrorBody(await sms.bind(accessToken, next, wrong), "SMS_CODE_INVALID");
    }
    expectErrorBody(await sms.bind(accessToken, next, code), "SMS_CODE_INVALID");
  });

  it("gives one success to the same code submitted twice at once", async () => {
    const { accessToken } = await api.register();
    const next = uniquePhoneNumber();
    await sms.send(accessToken, next);
    const code = sms.codeSentTo(`+86${next}`);
    const results = await Promise.all([
      sms.bind(accessToken, next, code),
      sms.bind(accessToken, next, code),
    ]);
    expect(results.map((result) => result.status).sort()).toEqual([200, 401]);
    expectErrorBody(
      results.find((result) => result.status === 401)!,
      "SMS_CODE_INVALID",
    );
  });

  it("needs a signed-in user, and a well-formed phone before any SMS goes out", async () => {
    const before = api.sandbox.state.smsMessages().length;
    const anonymous = await api.request("POST", "/api/me/phone/sms", {
      body: { phone: uniquePhoneNumber() },
    });
    expect(anonymous.status).toBe(401);
    expectErrorBody(anonymous, "UNAUTHORIZED");
    const { accessToken } = await api.register();
    expectErrorBody(await sms.send(accessToken, "1380013800"), "VALIDATION_FAILED");
    expect(api.sandbox.state.smsMessages().length).toBe(before);
  });

  it("sends at most the hourly limit of codes per user", async () => {
    const { accessToken } = await api.register();
    for (let sent = 0; sent < 5; sent++) {
      expect((await sms.send(accessToken, uniquePhoneNumber())).status).toBe(200);
    }
    const limited = await sms.send(accessToken, uniquePhoneNumber());
    expect(limited.status).toBe(429);
    expectErrorBody(limited, "SMS_RATE_LIMITED");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
  });
});

describe("changing the phone with SMS switched off (SMS_PROVIDER=none)", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ env: { SMS_PROVIDER: "none" } });
  });
  afterAll(() => api.close());

  it("answers 503 SMS_UNAVAILABLE to both routes", async () => {
    const { accessToken } = await api.register();
    const sms = phoneChange(api);
    const next = uniquePhoneNumber();
    expectErrorBody(await sms.send(accessToken, next), "SMS_UNAVAILABLE");
    const bound = await sms.bind(accessToken, next, "123456");
    expect(bound.status).toBe(503);
    expectErrorBody(bound, "SMS_UNAVAILABLE");
  });
});
