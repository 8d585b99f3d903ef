import { describe, expect, it } from "vitest";
import { SandboxLoginCodeResponseSchema } from "@wxauth/contracts/sandbox";
import {
  SANDBOX_APPID,
  SANDBOX_SECOND_APPID,
  SANDBOX_SECOND_SECRET,
  SANDBOX_SECRET,
} from "./index.js";
import { expectErrcode, testSandbox } from "./testing/helpers.js";

describe("several apps", () => {
  it("knows two apps bound to one Open Platform account by default", async () => {
    const sandbox = await testSandbox();
    const first = await sandbox.loginCode({ person: "alice" });
    const second = await sandbox.loginCode({ person: "alice", appid: SANDBOX_SECOND_APPID });
    expect(SandboxLoginCodeResponseSchema.parse(first).appid).toBe(SANDBOX_APPID);
    expect(second.appid).toBe(SANDBOX_SECOND_APPID);

    const inFirst = await sandbox.exchange(first.code);
    const inSecond = await sandbox.exchange(second.code, {
      appid: SANDBOX_SECOND_APPID,
      secret: SANDBOX_SECOND_SECRET,
    });
    // One person: an openid per app, one unionid.
    expect(inFirst.openid).toBe(first.openid);
    expect(inSecond.openid).toBe(second.openid);
    expect(inFirst.openid).not.toBe(inSecond.openid);
    expect(inFirst.unionid).toEqual(expect.any(String));
    expect(inSecond.unionid).toBe(inFirst.unionid);
    expect(first.unionid).toBe(inFirst.unionid);
  });

  it("gives a person the same openid every time, and another person another", async () => {
    const sandbox = await testSandbox();
    const again = await sandbox.loginCode({ person: "alice" });
    const once = await sandbox.loginCode({ person: "alice" });
    const bob = await sandbox.loginCode({ person: "bob" });
    expect(again.openid).toBe(once.openid);
    expect(bob.openid).not.toBe(once.openid);
    expect(bob.unionid).not.toBe(once.unionid);
    expect(once.openid).toMatch(/^o[A-Za-z0-9_-]{27}$/);
  });

  it("returns no unionid from an app configured as unbound", async () => {
    const sandbox = await testSandbox({
      apps: [
        { appid: "wxshop", secret: "shop-secret" },
        { appid: "wxstaff", secret: "staff-secret", unionBound: false },
      ],
    });
    const bound = await sandbox.loginCode({ person: "carol" });
    const unbound = await sandbox.loginCode({ person: "carol", appid: "wxstaff" });
    expect(unbound.unionid).toBeUndefined();
    const reply = await sandbox.exchange(unbound.code, {
      appid: "wxstaff",
      secret: "staff-secret",
    });
    expect(reply).toEqual({ openid: unbound.openid, session_key: expect.any(String) });
    expect(
      await sandbox.exchange(bound.code, { appid: "wxshop", secret: "shop-secret" }),
    ).toMatchObject({ unionid: bound.unionid });
  });

  it("checks each app's own secret, and a code works only in the app it was issued to", async () => {
    const sandbox = await testSandbox();
    const { code } = await sandbox.loginCode({ appid: SANDBOX_SECOND_APPID });
    expectErrcode(
      await sandbox.exchange(code, { appid: SANDBOX_SECOND_APPID, secret: SANDBOX_SECRET }),
      40125,
    );
    expectErrcode(await sandbox.exchange(code, { appid: "wxnotconfigured" }), 40013);
    expectErrcode(await sandbox.exchange(code), 40029);
    // The failed tries did not use it up.
    expect(
      await sandbox.exchange(code, { appid: SANDBOX_SECOND_APPID, secret: SANDBOX_SECOND_SECRET }),
    ).toHaveProperty("openid");
  });

  it("gives each app its own access tokens, and a phone code works only with its app's token", async () => {
    const sandbox = await testSandbox();
    const firstToken = await sandbox.accessTokenOf(SANDBOX_APPID, SANDBOX_SECRET);
    const secondToken = await sandbox.accessTokenOf(SANDBOX_SECOND_APPID, SANDBOX_SECOND_SECRET);
    expect(secondToken).not.toBe(firstToken);
    // stable_token keeps each app's current token.
    expect(await sandbox.accessTokenOf(SANDBOX_SECOND_APPID, SANDBOX_SECOND_SECRET)).toBe(
      secondToken,
    );

    const { openid } = await sandbox.loginCode({ person: "dave", appid: SANDBOX_SECOND_APPID });
    const phoneCode = await sandbox.phoneCode({ phoneNumber: "13800138000", openid });
    // The first app's token cannot redeem the second app's code.
    expectErrcode(await sandbox.phoneNumber(firstToken, { code: phoneCode, openid }), 40029);
    const answer = await sandbox.phoneNumber(secondToken, { code: phoneCode, openid });
    expect(answer).toMatchObject({
      errcode: 0,
      phone_info: { purePhoneNumber: "13800138000", watermark: { appid: SANDBOX_SECOND_APPID } },
    });

    // Refreshing one app's token leaves the other's alone.
    await sandbox.postJson("/cgi-bin/stable_token", {
      grant_type: "client_credential",
      appid: SANDBOX_APPID,
      secret: SANDBOX_SECRET,
      force_refresh: true,
    });
    const code = await sandbox.phoneCode({
      phoneNumber: "13800138001",
      appid: SANDBOX_SECOND_APPID,
    });
    expect(await sandbox.phoneNumber(secondToken, { code })).toMatchObject({ errcode: 0 });
    expectErrcode(await sandbox.phoneNumber(firstToken, { code: "any" }), 40001);
  });

  it("binds a phone code to the app asked for, else the openid's app, else the first app", async () => {
    const sandbox = await testSandbox();
    const firstToken = await sandbox.accessTokenOf(SANDBOX_APPID, SANDBOX_SECRET);
    const code = await sandbox.phoneCode({ phoneNumber: "13800138000" });
    expect(await sandbox.phoneNumber(firstToken, { code })).toMatchObject({
      phone_info: { watermark: { appid: SANDBOX_APPID } },
    });
  });

  it("keeps WECHAT_APPID/WECHAT_SECRET's meaning: one app with that pair", async () => {
    const sandbox = await testSandbox({ appid: "wxfromoptions", secret: "secret-from-options" });
    const minted = await sandbox.loginCode({ person: "erin" });
    expect(minted.appid).toBe("wxfromoptions");
    expectErrcode(await sandbox.exchange(minted.code), 40013);
    expect(
      await sandbox.exchange(minted.code, {
        appid: "wxfromoptions",
        secret: "secret-from-options",
      }),
    ).toMatchObject({ openid: minted.openid, unionid: minted.unionid });
  });

  it.each([
    [{ appid: "wxnotconfigured" }, /appid: wxnotconfigured is not one of/],
    [{ person: "alice", openid: "oAlice" }, /not both/],
  ])("refuses login-code %j with a readable 400", async (body, message) => {
    const sandbox = await testSandbox();
    const res = await sandbox.post("/__dev/login-code", body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(message);
  });

  it("refuses a list of apps that repeats an appid", async () => {
    await expect(
      testSandbox({
        apps: [
          { appid: "wx1", secret: "a" },
          { appid: "wx1", secret: "b" },
        ],
      }),
    ).rejects.toThrow(/duplicate appid/);
  });
});
