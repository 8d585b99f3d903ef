/*
 * WeChat's content checks in the profile flow: a nickname is checked (msgSecCheck v2) before it is
 * saved, an uploaded avatar is sent to mediaCheckAsync v2 once it is served. The verdict pushes of
 * avatars are in wechat-push/wechat-push.test.ts.
 */
import { MeSchema, UserSchema, errorCatalog } from "@wxauth/contracts";
import {
  SANDBOX_APPID,
  SANDBOX_SECOND_APPID,
  SANDBOX_SECOND_SECRET,
  SANDBOX_SECRET,
} from "@wxauth/contracts/sandbox";
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { securityEvents, uploadAvatar } from "../testing/content.js";
import { expectErrorBody, startTestApi, type TestApi } from "../testing/harness.js";

const SHOP = SANDBOX_APPID;
const STAFF = SANDBOX_SECOND_APPID;
const WECHAT_APPS = JSON.stringify([
  { appid: SHOP, secret: SANDBOX_SECRET, name: "shop" },
  { appid: STAFF, secret: SANDBOX_SECOND_SECRET, name: "staff" },
]);
const PUBLIC_BASE_URL = "https://wxauth.example.com";

async function nicknameOf(api: TestApi, accessToken: string): Promise<string | null> {
  const result = await api.request("GET", "/api/me", { token: accessToken });
  return MeSchema.parse(result.body).nickname;
}

function patchNickname(api: TestApi, accessToken: string, nickname: string) {
  return api.request("PATCH", "/api/me", { token: accessToken, body: { nickname } });
}

describe("content checks on (the default)", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ env: { WECHAT_APPS, PUBLIC_BASE_URL }, captureLogs: true });
  });
  afterAll(() => api.close());
  afterEach(() => vi.restoreAllMocks());

  describe("PATCH /api/me nickname", () => {
    it("pass: checks the nickname with msgSecCheck v2, scene 1, the openid in the session's app, then saves it", async () => {
      const session = await api.register({ appid: STAFF, person: randomUUID() });
      const staffCheck = vi.spyOn(api.deps.apps.find(STAFF)!.client, "msgSecCheck");
      const shopCheck = vi.spyOn(api.deps.apps.find(SHOP)!.client, "msgSecCheck");
      const result = await patchNickname(api, session.accessToken, "小明");
      expect(result.status, result.text).toBe(200);
      expect(UserSchema.parse(result.body).nickname).toBe("小明");
      expect(staffCheck).toHaveBeenCalledExactlyOnceWith({
        openid: session.openid,
        content: "小明",
        scene: 1,
      });
      expect(shopCheck).not.toHaveBeenCalled();
      expect(await nicknameOf(api, session.accessToken)).toBe("小明");
    });

    it("review: saves the nickname and writes the security event content_review", async () => {
      const session = await api.register({ appid: SHOP });
      const result = await patchNickname(api, session.accessToken, "待审的名字");
      expect(result.status, result.text).toBe(200);
      expect(await nicknameOf(api, session.accessToken)).toBe("待审的名字");
      const [event] = securityEvents(api, "content_review").filter(
        (entry) => entry.userId === session.user.id,
      );
      expect(event).toMatchObject({ field: "nickname", label: 21000 });
      expect(event?.traceId).toEqual(expect.any(String));
      // The nickname itself is personal data: not in the event.
      expect(JSON.stringify(event)).not.toContain("待审的名字");
    });

    it("risky: 422 CONTENT_REJECTED, not retryable, the old nickname stays, content_rejected written", async () => {
      const session = await api.register({ appid: SHOP });
      expect((await patchNickname(api, session.accessToken, "老名字")).status).toBe(200);
      const result = await patchNickname(api, session.accessToken, "含违规词");
      expect(result.status).toBe(422);
      const { error } = expectErrorBody(result, "CONTENT_REJECTED");
      expect(error.retryable).toBe(false);
      expect(error.message).toBe(errorCatalog.CONTENT_REJECTED.message.en);
      expect(await nicknameOf(api, session.accessToken)).toBe("老名字");
      const events = securityEvents(api, "content_rejected").filter(
        (entry) => entry.userId === session.user.id,
      );
      expect(events).toEqual([expect.objectContaining({ field: "nickname", label: 20006 })]);
    });

    it("risky also when only one of several changes is the nickname: the avatar change is not saved either", async () => {
      const session = await api.register({ appid: SHOP });
      const result = await api.request("PATCH", "/api/me", {
        token: session.accessToken,
        body: { nickname: "违规", avatarUrl: "https://thirdwx.qlogo.cn/mmopen/x/132" },
      });
      expectErrorBody(result, "CONTENT_REJECTED");
      const me = MeSchema.parse(
        (await api.request("GET", "/api/me", { token: session.accessToken })).body,
      );
      expect(me).toMatchObject({ nickname: null, avatarUrl: null });
    });

    it.each([
      ["times out", { errcode: "timeout" as const }],
      ["answers HTTP 500 on every try", { errcode: "http500" as const, times: 5 }],
      ["answers errcode -1 (system busy) on every try", { errcode: -1, times: 5 }],
    ])(
      "WeChat unreachable (%s): 503 WECHAT_UNAVAILABLE, retryable, nothing saved",
      async (_name, fault) => {
        const session = await api.register({ appid: SHOP });
        await api.fail({ api: "msg_sec_check", ...fault });
        const result = await patchNickname(api, session.accessToken, "新名字");
        expect(result.status).toBe(503);
        expect(expectErrorBody(result, "WECHAT_UNAVAILABLE").error.retryable).toBe(true);
        expect(await nicknameOf(api, session.accessToken)).toBeNull();
        api.sandbox.reset();
      },
    );

    it("the nickname the user already has is not checked again", async () => {
      const session = await api.register({ appid: SHOP });
      expect((await patchNickname(api, session.accessToken, "同名")).status).toBe(200);
      const before = (await api.stats()).calls.msg_sec_check;
      const again = await api.request("PATCH", "/api/me", {
        token: session.accessToken,
        body: { nickname: "同名", avatarUrl: "https://thirdwx.qlogo.cn/mmopen/y/132" },
      });
      expect(again.status, again.text).toBe(200);
      expect((await api.stats()).calls.msg_sec_check).toBe(before);
    });

    it("an avatarUrl-only change makes no content check", async () => {
      const session = await api.register({ appid: SHOP });
      const before = (await api.stats()).calls.msg_sec_check;
      const result = await api.request("PATCH", "/api/me", {
        token: session.accessToken,
        body: { avatarUrl: "https://thirdwx.qlogo.cn/mmopen/z/132" },
      });
      expect(result.status, result.text).toBe(200);
      expect((await api.stats()).calls.msg_sec_check).toBe(before);
    });
  });

  describe("POST /api/me/avatar", () => {
    it("serves the avatar at once and starts mediaCheckAsync v2 (image, scene 1, openid) on its address under PUBLIC_BASE_URL, keeping the trace_id", async () => {
      const session = await api.register({ appid: STAFF, person: randomUUID() });
      const check = vi.spyOn(api.deps.apps.find(STAFF)!.client, "mediaCheckAsync");
      const user = await uploadAvatar(api, session.accessToken);
      const avatarId = new URL(user.avatarUrl!).pathname.split("/").pop()!;
      expect(check).toHaveBeenCalledExactlyOnceWith({
        openid: session.openid,
        mediaUrl: `${PUBLIC_BASE_URL}/api/avatars/${avatarId}`,
        mediaType: 2,
        scene: 1,
      });
      const { traceId } = await check.mock.results[0]!.value;
      const row = await api.deps.db
        .selectFrom("avatars")
        .select("check_trace_id")
        .where("id", "=", avatarId)
        .executeTakeFirstOrThrow();
      expect(row.check_trace_id).toBe(traceId);
      expect((await fetch(user.avatarUrl!)).status).toBe(200);
    });

    it("when the check cannot be started, the avatar stays served, unchecked: logged and counted", async () => {
      const session = await api.register({ appid: SHOP });
      await api.fail({ api: "media_check_async", errcode: "http500", times: 5 });
      const user = await uploadAvatar(api, session.accessToken);
      expect((await fetch(user.avatarUrl!)).status).toBe(200);
      const row = await api.deps.db
        .selectFrom("avatars")
        .select("check_trace_id")
        .where("user_id", "=", session.user.id)
        .executeTakeFirstOrThrow();
      expect(row.check_trace_id).toBeNull();
      const warning = api.logs.find(
        (line) =>
          line.includes("avatar content check not started") && line.includes(session.user.id),
      );
      expect(warning).toBeDefined();
      const metrics = await api.deps.metrics.registry.metrics();
      expect(metrics).toMatch(
        /wxauth_content_checks_total\{check="avatar",result="unchecked"\} [1-9]/,
      );
      api.sandbox.reset();
    });
  });
});

describe("CONTENT_CHECKS=off", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ env: { CONTENT_CHECKS: "off" } });
  });
  afterAll(() => api.close());

  it("saves any nickname and avatar without a single content-check call to WeChat", async () => {
    const session = await api.register();
    const result = await patchNickname(api, session.accessToken, "违规也不查");
    expect(result.status, result.text).toBe(200);
    expect(UserSchema.parse(result.body).nickname).toBe("违规也不查");
    await uploadAvatar(api, session.accessToken);
    const { calls } = await api.stats();
    expect(calls.msg_sec_check).toBe(0);
    expect(calls.media_check_async).toBe(0);
    const row = await api.deps.db
      .selectFrom("avatars")
      .select("check_trace_id")
      .where("user_id", "=", session.user.id)
      .executeTakeFirstOrThrow();
    expect(row.check_trace_id).toBeNull();
  });
});
