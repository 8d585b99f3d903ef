import { DEFAULT_ACCOUNT_DELETION_COOLING_OFF_S, MeSchema, UserSchema } from "@wxauth/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

describe("GET /api/me", () => {
  it("answers the signed-in user, and the cooling-off a deletion requested now would get", async () => {
    const session = await api.register();
    const result = await api.request("GET", "/api/me", { token: session.accessToken });
    expect(result.status).toBe(200);
    const { deletionCoolingOff, identities, avatarRemovedAt, ...user } = MeSchema.parse(
      result.body,
    );
    expect(user).toEqual(session.user);
    expect(avatarRemovedAt).toBeNull();
    expect(deletionCoolingOff).toBe(DEFAULT_ACCOUNT_DELETION_COOLING_OFF_S);
    expect(identities).toEqual([
      { appid: api.deps.apps.primary.appid, name: "default", createdAt: expect.any(String) },
    ]);
  });

  it("tells the cooling-off the API is configured with, which the deletion then uses", async () => {
    const configured = await startTestApi({ env: { ACCOUNT_DELETION_COOLING_OFF_S: "129600" } });
    try {
      const session = await configured.register();
      const me = await configured.request("GET", "/api/me", { token: session.accessToken });
      expect(MeSchema.parse(me.body).deletionCoolingOff).toBe(129_600);
      const before = configured.clock.now();
      const deletion = await configured.request("POST", "/api/me/deletion", {
        token: session.accessToken,
      });
      const { deletionScheduledAt } = deletion.body as { deletionScheduledAt: string };
      expect(Date.parse(deletionScheduledAt) - before).toBeCloseTo(129_600_000, -5);
    } finally {
      await configured.close();
    }
  });

  it("answers 401 for a token of an account that no longer exists", async () => {
    const session = await api.register();
    await api.deps.db.deleteFrom("users").where("id", "=", session.user.id).execute();
    expectErrorBody(
      await api.request("GET", "/api/me", { token: session.accessToken }),
      "UNAUTHORIZED",
    );
    expectErrorBody(
      await api.request("PATCH", "/api/me", {
        token: session.accessToken,
        body: { nickname: "x" },
      }),
      "UNAUTHORIZED",
    );
  });
});

describe("PATCH /api/me", () => {
  it("changes the nickname and the avatar", async () => {
    const session = await api.register();
    const result = await api.request("PATCH", "/api/me", {
      token: session.accessToken,
      body: { nickname: "  微信用户  ", avatarUrl: "https://thirdwx.qlogo.cn/mmopen/abc/132" },
    });
    expect(result.status).toBe(200);
    const user = UserSchema.parse(result.body);
    expect(user).toMatchObject({
      nickname: "微信用户",
      avatarUrl: "https://thirdwx.qlogo.cn/mmopen/abc/132",
    });
    const me = UserSchema.parse(
      (await api.request("GET", "/api/me", { token: session.accessToken })).body,
    );
    expect(me.nickname).toBe("微信用户");
  });

  it.each([
    ["an empty body", {}],
    ["a too-long nickname", { nickname: "x".repeat(33) }],
    ["a control character", { nickname: "a\u0007b" }],
    ["a non-http avatar", { avatarUrl: "javascript:alert(1)" }],
    ["an unknown field", { nickname: "ok", phone: "+8613800138000" }],
    ["a wrong type", { nickname: 42 }],
  ])("refuses %s with 400 VALIDATION_FAILED", async (_name, body) => {
    const session = await api.register();
    const result = await api.request("PATCH", "/api/me", { token: session.accessToken, body });
    expect(result.status).toBe(400);
    expectErrorBody(result, "VALIDATION_FAILED");
  });

  it("accepts POST + X-HTTP-Method-Override: PATCH, since wx.request cannot send PATCH", async () => {
    const session = await api.register();
    const result = await api.request("POST", "/api/me", {
      token: session.accessToken,
      headers: { "X-HTTP-Method-Override": "PATCH" },
      body: { nickname: "小程序用户" },
    });
    expect(result.status).toBe(200);
    expect(UserSchema.parse(result.body).nickname).toBe("小程序用户");
  });

  it("honours no other override: the header cannot turn a POST into a GET", async () => {
    const session = await api.register();
    const result = await api.request("POST", "/api/me", {
      token: session.accessToken,
      headers: { "X-HTTP-Method-Override": "GET" },
      body: { nickname: "x" },
    });
    expect(result.status).toBe(404);
    expectErrorBody(result, "NOT_FOUND");
  });

  it("needs a token", async () => {
    const result = await api.request("PATCH", "/api/me", { body: { nickname: "x" } });
    expect(result.status).toBe(401);
    expectErrorBody(result, "UNAUTHORIZED");
  });
});

describe("POST /api/me/phone", () => {
  const bind = (token: string, phoneCode: string) =>
    api.request("POST", "/api/me/phone", { token, body: { phoneCode } });

  it("changes the phone of the signed-in user", async () => {
    const session = await api.register();
    const phoneNumber = uniquePhoneNumber();
    const result = await bind(
      session.accessToken,
      await api.phoneCode(phoneNumber, session.openid),
    );
    expect(result.status).toBe(200);
    expect(UserSchema.parse(result.body).phone).toBe(`+86${phoneNumber}`);
  });

  it("keeps the country code (E.164)", async () => {
    const session = await api.register();
    const result = await bind(
      session.accessToken,
      await api.phoneCode("51234567", session.openid, "852"),
    );
    expect(UserSchema.parse(result.body).phone).toBe("+85251234567");
  });

  it("binding the phone the user already has is a no-op", async () => {
    const phoneNumber = uniquePhoneNumber();
    const session = await api.register({ phoneNumber });
    const result = await bind(
      session.accessToken,
      await api.phoneCode(phoneNumber, session.openid),
    );
    expect(result.status).toBe(200);
    expect(UserSchema.parse(result.body).phone).toBe(`+86${phoneNumber}`);
  });

  it("refuses a phone held by another account with 409 PHONE_ALREADY_BOUND", async () => {
    const phoneNumber = uniquePhoneNumber();
    await api.register({ phoneNumber });
    const session = await api.register();
    const result = await bind(
      session.accessToken,
      await api.phoneCode(phoneNumber, session.openid),
    );
    expect(result.status).toBe(409);
    expectErrorBody(result, "PHONE_ALREADY_BOUND");
    const me = UserSchema.parse(
      (await api.request("GET", "/api/me", { token: session.accessToken })).body,
    );
    expect(me.phone).toBe(session.user.phone);
  });

  it("gives an auto-mode style account without a phone its first phone", async () => {
    const session = await api.register();
    await api.deps.data.users.update(session.user.id, { phone: null });
    const phoneNumber = uniquePhoneNumber();
    const result = await bind(
      session.accessToken,
      await api.phoneCode(phoneNumber, session.openid),
    );
    expect(UserSchema.parse(result.body).phone).toBe(`+86${phoneNumber}`);
  });

  it("maps a bad phone code to WECHAT_CODE_INVALID", async () => {
    const session = await api.register();
    const result = await bind(session.accessToken, "not-a-real-phone-code");
    expect(result.status).toBe(401);
    expectErrorBody(result, "WECHAT_CODE_INVALID");
  });
});
