/*
 * Registering by SMS: POST /api/auth/sms/send sends a code for a registration ticket, and
 * POST /api/auth/wechat/register redeems the ticket with the phone and that code. The sandbox
 * stands in for Tencent Cloud SMS; the test reads each code from the SMS it accepted.
 */
import {
  AuthenticatedSessionSchema,
  RegistrationRequiredSchema,
  SmsCodeSentSchema,
} from "@wxauth/contracts";
import { SANDBOX_SMS_DAILY_LIMIT_PREFIX } from "@wxauth/contracts/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectErrorBody,
  startTestApi,
  uniquePhoneNumber,
  type HttpResult,
  type TestApi,
} from "../testing/harness.js";

/** The registration side of SMS on one API: tickets, sends, registrations, the code of an SMS. */
function smsRegistration(api: TestApi) {
  return {
    async newTicket(): Promise<{ ticket: string; openid: string }> {
      const { code, openid } = await api.loginCode();
      const answer = RegistrationRequiredSchema.parse(await api.login(code));
      return { ticket: answer.registrationTicket, openid };
    },
    send: (registrationTicket: string, phone: string, from?: string): Promise<HttpResult> =>
      api.request("POST", "/api/auth/sms/send", {
        body: { registrationTicket, phone },
        headers: from ? { "x-forwarded-for": from } : {},
      }),
    register: (registrationTicket: string, phone: string, smsCode: string): Promise<HttpResult> =>
      api.request("POST", "/api/auth/wechat/register", {
        body: { registrationTicket, phone, smsCode },
      }),
    /** The code the sandbox delivered to `phone` (E.164); fails the test when there is none. */
    codeSentTo(phone: string): string {
      const code = api.smsCode(phone);
      if (code === undefined) throw new Error(`no SMS reached ${phone}`);
      return code;
    },
    sentCount: () => api.sandbox.state.smsMessages().length,
  };
}

/** A code that is not `code`. */
/** Another code: each digit shifted (a fixed one such as 000000 is in the sandbox's appids, logged). */
const otherThan = (code: string) =>
  code.replace(/\d/g, (digit) => String((Number(digit) + 1) % 10));

/** A counter's value for the series with these labels (0 when there is none yet). */
async function counted(
  counter: { get(): Promise<{ values: { labels: object; value: number }[] }> },
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await counter.get();
  const matches = (series: object) =>
    Object.entries(labels).every(
      ([name, value]) => (series as Record<string, unknown>)[name] === value,
    );
  return values.find((series) => matches(series.labels))?.value ?? 0;
}

const registrationsBySms = (api: TestApi) =>
  counted(api.deps.metrics.registrations, { method: "sms" });

describe("registering by SMS", () => {
  let api: TestApi;
  let sms: ReturnType<typeof smsRegistration>;
  beforeAll(async () => {
    // The limits have their own suite below; here every send comes from one address.
    api = await startTestApi({ env: { SMS_IP_HOURLY_LIMIT: "1000" }, captureLogs: true });
    sms = smsRegistration(api);
  });
  afterAll(() => api.close());

  it("logs the phone masked and never the code", async () => {
    const phoneNumber = uniquePhoneNumber();
    const { ticket } = await sms.newTicket();
    const logsBefore = api.logs.length;
    await sms.send(ticket, phoneNumber);
    const code = sms.codeSentTo(`+86${phoneNumber}`);
    expect((await sms.register(ticket, phoneNumber, otherThan(code))).status).toBe(401);
    expect((await sms.register(ticket, phoneNumber, code)).status).toBe(201);
    const logged = api.logs.slice(logsBefore).join("\n");
    expect(logged).toContain('"event":"sms_sent"');
    expect(logged).toContain(`${phoneNumber.slice(0, 3)}****${phoneNumber.slice(-4)}`);
    expect(logged).not.toContain(phoneNumber);
    expect(logged).not.toContain(code);
    expect(logged).not.toContain(otherThan(code));
  });

  it("sends a 6-digit code for the ticket, then registers the WeChat user with it", async () => {
    const phoneNumber = uniquePhoneNumber();
    const { ticket, openid } = await sms.newTicket();
    const registeredBefore = await registrationsBySms(api);
    const sentBefore = await counted(api.deps.metrics.smsSent);

    const sent = await sms.send(ticket, phoneNumber);
    expect(sent.status, sent.text).toBe(200);
    expect(await counted(api.deps.metrics.smsSent)).toBe(sentBefore + 1);
    expect(SmsCodeSentSchema.parse(sent.body)).toEqual({ expiresIn: 300, retryAfter: 60 });
    const code = sms.codeSentTo(`+86${phoneNumber}`);
    expect(code).toMatch(/^\d{6}$/);
    expect(sent.text).not.toContain(code);

    const registered = await sms.register(ticket, `+86${phoneNumber}`, code);
    expect(registered.status, registered.text).toBe(201);
    const session = AuthenticatedSessionSchema.parse(registered.body);
    expect(session.user.phone).toBe(`+86${phoneNumber}`);
    expect(
      (await api.deps.data.wechatIdentities.findUser(api.deps.apps.primary.appid, openid))?.id,
    ).toBe(session.user.id);
    expect(await registrationsBySms(api)).toBe(registeredBefore + 1);

    // The ticket is spent: no more codes for it, and the user now simply logs in.
    expectErrorBody(await sms.send(ticket, uniquePhoneNumber()), "REGISTRATION_TICKET_INVALID");
    const { code: loginCode } = await api.loginCode({ openid });
    expect((await api.login(loginCode)).status).toBe("authenticated");
  });

  it("takes a phone as +86…, as a bare mainland mobile or as another E.164 number", async () => {
    for (const [typed, stored] of [
      ["13700137000", "+8613700137000"],
      ["+8613600136000", "+8613600136000"],
      ["+85251234567", "+85251234567"],
    ] as const) {
      const { ticket } = await sms.newTicket();
      expect((await sms.send(ticket, typed)).status).toBe(200);
      const result = await sms.register(ticket, typed, sms.codeSentTo(stored));
      expect(result.status, result.text).toBe(201);
      expect(AuthenticatedSessionSchema.parse(result.body).user.phone).toBe(stored);
    }
  });

  it("sends no SMS for an unknown or expired ticket (a used one: see above)", async () => {
    const before = sms.sentCount();
    expectErrorBody(
      await sms.send("t".repeat(43), uniquePhoneNumber()),
      "REGISTRATION_TICKET_INVALID",
    );

    const { ticket } = await sms.newTicket();
    api.clock.advance(601_000);
    try {
      const expired = await sms.send(ticket, uniquePhoneNumber());
      expect(expired.status).toBe(401);
      expectErrorBody(expired, "REGISTRATION_TICKET_INVALID");
    } finally {
      api.clock.advance(-601_000);
    }
    expect(sms.sentCount()).toBe(before);
  });

  it("refuses a malformed phone with 400 and sends nothing", async () => {
    const { ticket } = await sms.newTicket();
    const before = sms.sentCount();
    for (const phone of [
      "12345",
      "+86 138 0013 8000",
      "138-0013-8000",
      "02112345678",
      "+8612345",
    ]) {
      expectErrorBody(await sms.send(ticket, phone), "VALIDATION_FAILED");
      expectErrorBody(await sms.register(ticket, phone, "123456"), "VALIDATION_FAILED");
    }
    expect(sms.sentCount()).toBe(before);
  });

  it("binds the openid to an account that has the phone but no WeChat", async () => {
    const phoneNumber = uniquePhoneNumber();
    const existing = await api.deps.data.users.create({ phone: `+86${phoneNumber}` });
    const { ticket, openid } = await sms.newTicket();
    await sms.send(ticket, phoneNumber);
    const result = await sms.register(ticket, phoneNumber, sms.codeSentTo(`+86${phoneNumber}`));
    expect(result.status, result.text).toBe(201);
    expect(AuthenticatedSessionSchema.parse(result.body).user.id).toBe(existing.id);
    expect(
      (await api.deps.data.wechatIdentities.findUser(api.deps.apps.primary.appid, openid))?.id,
    ).toBe(existing.id);
  });

  it("refuses a phone of another WeChat account with 409; the ticket stays usable", async () => {
    const taken = uniquePhoneNumber();
    await api.register({ phoneNumber: taken });
    const { ticket, openid } = await sms.newTicket();
    await sms.send(ticket, taken);
    const refused = await sms.register(ticket, taken, sms.codeSentTo(`+86${taken}`));
    expect(refused.status).toBe(409);
    expectErrorBody(refused, "PHONE_ALREADY_BOUND");
    expect(
      await api.deps.data.wechatIdentities.findUser(api.deps.apps.primary.appid, openid),
    ).toBeNull();

    const free = uniquePhoneNumber();
    expect((await sms.send(ticket, free)).status).toBe(200);
    expect((await sms.register(ticket, free, sms.codeSentTo(`+86${free}`))).status).toBe(201);
  });

  it("ends a code after five wrong tries; the ticket stays usable", async () => {
    const phoneNumber = uniquePhoneNumber();
    const { ticket } = await sms.newTicket();
    await sms.send(ticket, phoneNumber);
    const code = sms.codeSentTo(`+86${phoneNumber}`);
    for (let attempt = 0; attempt < 5; attempt++) {
      const wrong = await sms.register(ticket, phoneNumber, otherThan(code));
      expect(wrong.status).toBe(401);
      expectErrorBody(wrong, "SMS_CODE_INVALID");
    }
    expectErrorBody(await sms.register(ticket, phoneNumber, code), "SMS_CODE_INVALID");

    const other = uniquePhoneNumber();
    await sms.send(ticket, other);
    expect((await sms.register(ticket, other, sms.codeSentTo(`+86${other}`))).status).toBe(201);
  });

  it("binds a code to its ticket and its phone", async () => {
    const phoneNumber = uniquePhoneNumber();
    const mine = await sms.newTicket();
    const someoneElses = await sms.newTicket();
    await sms.send(mine.ticket, phoneNumber);
    const code = sms.codeSentTo(`+86${phoneNumber}`);
    expectErrorBody(await sms.register(someoneElses.ticket, phoneNumber, code), "SMS_CODE_INVALID");
    expectErrorBody(await sms.register(mine.ticket, uniquePhoneNumber(), code), "SMS_CODE_INVALID");
    expect((await sms.register(mine.ticket, phoneNumber, code)).status).toBe(201);
  });

  it("gives one success to the same code submitted twice at once", async () => {
    for (let round = 0; round < 5; round++) {
      const phoneNumber = uniquePhoneNumber();
      const { ticket, openid } = await sms.newTicket();
      await sms.send(ticket, phoneNumber);
      const code = sms.codeSentTo(`+86${phoneNumber}`);
      const results = await Promise.all([
        sms.register(ticket, phoneNumber, code),
        sms.register(ticket, phoneNumber, code),
      ]);
      expect(results.map((result) => result.status).sort()).toEqual([201, 401]);
      const loser = results.find((result) => result.status === 401)!;
      expect(["REGISTRATION_TICKET_INVALID", "SMS_CODE_INVALID"]).toContain(
        (loser.body as { error: { code: string } }).error.code,
      );
      const users = await api.deps.db
        .selectFrom("wechat_identities")
        .select("user_id")
        .where("openid", "=", openid)
        .execute();
      expect(users).toHaveLength(1);
    }
  });

  it("answers 503 SMS_UNAVAILABLE when Tencent refuses the number, and keeps no code", async () => {
    const { ticket } = await sms.newTicket();
    const refusedPhone = `${SANDBOX_SMS_DAILY_LIMIT_PREFIX}1234`;
    const result = await sms.send(ticket, refusedPhone);
    expect(result.status).toBe(503);
    expectErrorBody(result, "SMS_UNAVAILABLE");
    expect(api.smsCode(refusedPhone)).toBeUndefined();
    const refusals = { reason: "LimitExceeded.PhoneNumberDailyLimit" };
    expect(await counted(api.deps.metrics.smsRefused, refusals)).toBe(1);
    expectErrorBody(await sms.register(ticket, refusedPhone, "123456"), "SMS_CODE_INVALID");
  });
});

describe("registering by SMS: the limits", () => {
  let api: TestApi;
  let sms: ReturnType<typeof smsRegistration>;
  let addresses = 0;
  /** Every test but the per-address one sends from addresses of its own. */
  const newAddress = () => `198.51.100.${++addresses}`;
  beforeAll(async () => {
    api = await startTestApi({
      env: {
        TRUST_PROXY: "true",
        SMS_PHONE_INTERVAL_S: "1",
        SMS_PHONE_DAILY_LIMIT: "2",
        SMS_SUBJECT_HOURLY_LIMIT: "3",
        SMS_IP_HOURLY_LIMIT: "4",
      },
    });
    sms = smsRegistration(api);
  });
  afterAll(() => api.close());

  function expectLimited(result: HttpResult): number {
    expect(result.status).toBe(429);
    expectErrorBody(result, "SMS_RATE_LIMITED");
    const retryAfter = Number(result.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThan(0);
    return retryAfter;
  }

  it("sends one code per phone per interval, whatever the ticket", async () => {
    const phone = uniquePhoneNumber();
    const [a, b] = [await sms.newTicket(), await sms.newTicket()];
    expect((await sms.send(a.ticket, phone, newAddress())).status).toBe(200);
    expect(expectLimited(await sms.send(b.ticket, `+86${phone}`, newAddress()))).toBe(1);
    expect(await counted(api.deps.metrics.smsLimited, { limit: "phone-interval" })).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await sms.send(b.ticket, phone, newAddress())).status).toBe(200);
  });

  it("sends at most the daily limit per phone", async () => {
    const phone = uniquePhoneNumber();
    for (let sent = 0; sent < 2; sent++) {
      const { ticket } = await sms.newTicket();
      expect((await sms.send(ticket, phone, newAddress())).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1100));
    }
    const { ticket } = await sms.newTicket();
    expect(expectLimited(await sms.send(ticket, phone, newAddress()))).toBeGreaterThan(80_000);
  });

  it("sends at most the hourly limit per ticket", async () => {
    const { ticket } = await sms.newTicket();
    for (let sent = 0; sent < 3; sent++) {
      expect((await sms.send(ticket, uniquePhoneNumber(), newAddress())).status).toBe(200);
    }
    expect(
      expectLimited(await sms.send(ticket, uniquePhoneNumber(), newAddress())),
    ).toBeGreaterThan(3000);
  });

  it("sends at most the hourly limit per client address", async () => {
    const from = "203.0.113.9";
    for (let sent = 0; sent < 4; sent++) {
      const { ticket } = await sms.newTicket();
      expect((await sms.send(ticket, uniquePhoneNumber(), from)).status).toBe(200);
    }
    const before = sms.sentCount();
    const { ticket } = await sms.newTicket();
    expectLimited(await sms.send(ticket, uniquePhoneNumber(), from));
    expect(sms.sentCount()).toBe(before);
    expect((await sms.send(ticket, uniquePhoneNumber(), newAddress())).status).toBe(200);
  });
});

describe("registering with SMS switched off (SMS_PROVIDER=none)", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ env: { SMS_PROVIDER: "none" } });
  });
  afterAll(() => api.close());

  it("answers 503 SMS_UNAVAILABLE, and the phone button still registers", async () => {
    const sms = smsRegistration(api);
    const { ticket, openid } = await sms.newTicket();
    const phoneNumber = uniquePhoneNumber();
    const sent = await sms.send(ticket, phoneNumber);
    expect(sent.status).toBe(503);
    expect(expectErrorBody(sent, "SMS_UNAVAILABLE").error.retryable).toBe(false);
    expectErrorBody(await sms.register(ticket, phoneNumber, "123456"), "SMS_UNAVAILABLE");
    expect(sms.sentCount()).toBe(0);

    const byButton = await api.request("POST", "/api/auth/wechat/register", {
      body: { registrationTicket: ticket, phoneCode: await api.phoneCode(phoneNumber, openid) },
    });
    expect(byButton.status, byButton.text).toBe(201);
  });
});
