import {
  AuthenticatedSessionSchema,
  RegistrationRequiredSchema,
  UserSchema,
  WechatLoginResponseSchema,
} from "@wxauth/contracts";
import { Sealer } from "@wxauth/wechat";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AT_REST_LABELS } from "./at-rest-cipher.js";
import {
  expectErrorBody,
  startTestApi,
  uniquePhoneNumber,
  type TestApi,
} from "../testing/harness.js";

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
    const row = await api.deps.data.wechatSessionKeys.find(api.deps.apps.primary.appid, openid);
    // Sealed under the first data key, which it names.
    expect(row?.sessionKeyCiphertext.startsWith(`v2.${api.config.dataKeys[0]!.id}.`)).toBe(true);
    expect(Math.abs((row?.obtainedAt.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);
  });

  it("saves a returning user's new session_key with the sign-in", async () => {
    const registered = await api.register();
    const cipher = new Sealer(api.config.dataKeys, AT_REST_LABELS.wechatSessionKey);
    const before = await api.deps.data.wechatSessionKeys.find(
      api.deps.apps.primary.appid,
      registered.openid,
    );
    const { code } = await api.loginCode({ openid: registered.openid });
    AuthenticatedSessionSchema.parse(await api.login(code));
    const after = await api.deps.data.wechatSessionKeys.find(
      api.deps.apps.primary.appid,
      registered.openid,
    );
    // The sandbox, like WeChat, hands out a new session_key with every code.
    expect(after?.id).toBe(before?.id);
    expect(cipher.open(after!.sessionKeyCiphertext)).not.toBe(
      cipher.open(before!.sessionKeyCiphertext),
    );
    expect(after!.obtainedAt.getTime()).toBeGreaterThanOrEqual(before!.obtainedAt.getTime());
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
    const identities = await api.deps.data.wechatIdentities.listForUser(existing.id);
    expect(identities.map(({ appid, openid }) => ({ appid, openid }))).toEqual([
      { appid: api.deps.apps.primary.appid, openid: registered.openid },
    ]);
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
    expect(
      await api.deps.data.wechatIdentities.findUser(api.deps.apps.primary.appid, openid),
    ).toBeNull();
  });
});

describe("login answers", () => {
  it("parse with the contract schema", async () => {
    const { code } = await api.loginCode();
    const result = await api.request("POST", "/api/auth/wechat/login", { body: { code } });
    expect(WechatLoginResponseSchema.safeParse(result.body).success).toBe(true);
  });
});

describe("registration tickets", () => {
  async function ticketFor() {
    const { code, openid } = await api.loginCode();
    const login = RegistrationRequiredSchema.parse(await api.login(code));
    return { ticket: login.registrationTicket, openid };
  }
  const redeem = (registrationTicket: string, phoneCode: string) =>
    api.request("POST", "/api/auth/wechat/register", { body: { registrationTicket, phoneCode } });

  it("stores only a hash of the ticket", async () => {
    const { ticket } = await ticketFor();
    const rows = await api.deps.db
      .selectFrom("registration_tickets")
      .select("token_hash as tokenHash")
      .execute();
    expect(rows.some((row) => row.tokenHash === ticket)).toBe(false);
  });

  it("works once: a used ticket is REGISTRATION_TICKET_INVALID", async () => {
    const { ticket, openid } = await ticketFor();
    expect((await redeem(ticket, await api.phoneCode(uniquePhoneNumber(), openid))).status).toBe(
      201,
    );
    const again = await redeem(ticket, await api.phoneCode(uniquePhoneNumber(), openid));
    expect(again.status).toBe(401);
    expectErrorBody(again, "REGISTRATION_TICKET_INVALID");
  });

  it("expires after 10 minutes", async () => {
    const { ticket, openid } = await ticketFor();
    api.clock.advance(601_000);
    const result = await redeem(ticket, await api.phoneCode(uniquePhoneNumber(), openid));
    expect(result.status).toBe(401);
    expectErrorBody(result, "REGISTRATION_TICKET_INVALID");
    expect(
      await api.deps.data.wechatIdentities.findUser(api.deps.apps.primary.appid, openid),
    ).toBeNull();
  });

  it("refuses forged tickets", async () => {
    const { openid } = await ticketFor();
    for (const forged of [
      "A".repeat(43),
      Buffer.from(openid).toString("base64url").padEnd(43, "x"),
    ]) {
      const result = await redeem(forged, await api.phoneCode(uniquePhoneNumber(), openid));
      expect(result.status).toBe(401);
      expectErrorBody(result, "REGISTRATION_TICKET_INVALID");
    }
  });

  it("succeeds exactly once when used concurrently", async () => {
    const { ticket, openid } = await ticketFor();
    const phoneNumber = uniquePhoneNumber();
    const codes = await Promise.all(
      Array.from({ length: 6 }, () => api.phoneCode(phoneNumber, openid)),
    );
    const results = await Promise.all(codes.map((phoneCode) => redeem(ticket, phoneCode)));
    const statuses = results.map((result) => result.status).sort();
    expect(statuses).toEqual([201, 401, 401, 401, 401, 401]);
    for (const result of results.filter((r) => r.status === 401)) {
      expectErrorBody(result, "REGISTRATION_TICKET_INVALID");
    }
    const users = await api.deps.db
      .selectFrom("wechat_identities")
      .select("user_id")
      .where("openid", "=", openid)
      .execute();
    expect(users.length).toBe(1);
  });

  it("two tickets of one WeChat user end in one account", async () => {
    const { code: first, openid } = await api.loginCode();
    const { code: second } = await api.loginCode({ openid });
    const a = RegistrationRequiredSchema.parse(await api.login(first));
    const b = RegistrationRequiredSchema.parse(await api.login(second));
    const phoneNumber = uniquePhoneNumber();
    const [ra, rb] = await Promise.all([
      redeem(a.registrationTicket, await api.phoneCode(phoneNumber, openid)),
      redeem(b.registrationTicket, await api.phoneCode(phoneNumber, openid)),
    ]);
    expect([ra?.status, rb?.status]).toEqual([201, 201]);
    expect(
      (
        await api.deps.db
          .selectFrom("wechat_identities")
          .select("user_id")
          .where("openid", "=", openid)
          .execute()
      ).length,
    ).toBe(1);
  });
});
