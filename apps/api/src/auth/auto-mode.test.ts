import { AuthenticatedSessionSchema } from "@wxauth/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../testing/harness.js";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ env: { REGISTRATION_MODE: "auto" } });
});
afterAll(() => api.close());

describe("REGISTRATION_MODE=auto", () => {
  it("creates the user on the first login, without a phone, and signs them in", async () => {
    const { code, openid } = await api.loginCode({ unionid: "union-auto-1" });
    const result = await api.request("POST", "/api/auth/wechat/login", { body: { code } });
    expect(result.status).toBe(200);
    const session = AuthenticatedSessionSchema.parse(result.body);
    expect(session.user.phone).toBeNull();
    expect(result.text).not.toContain(openid);
    const row = await api.deps.data.wechatIdentities.findUser(api.deps.apps.primary.appid, openid);
    expect(row).toMatchObject({ id: session.user.id, unionid: "union-auto-1" });

    const { code: next } = await api.loginCode({ openid });
    const again = AuthenticatedSessionSchema.parse(await api.login(next));
    expect(again.user.id).toBe(session.user.id);
  });

  it("concurrent first logins of one WeChat user create exactly one account", async () => {
    const { code: first, openid } = await api.loginCode();
    const codes = [first];
    for (let i = 0; i < 9; i++) codes.push((await api.loginCode({ openid })).code);
    const results = await Promise.all(
      codes.map((code) => api.request("POST", "/api/auth/wechat/login", { body: { code } })),
    );
    const ids = results.map((result) => {
      expect(result.status).toBe(200);
      return AuthenticatedSessionSchema.parse(result.body).user.id;
    });
    expect(new Set(ids).size).toBe(1);
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

  it("a unionid already held by another account does not block the sign-up", async () => {
    await api.login((await api.loginCode({ unionid: "union-shared" })).code);
    const { code, openid } = await api.loginCode({ unionid: "union-shared" });
    const session = AuthenticatedSessionSchema.parse(await api.login(code));
    expect(
      (await api.deps.data.wechatIdentities.findUser(api.deps.apps.primary.appid, openid))?.id,
    ).toBe(session.user.id);
  });
});
