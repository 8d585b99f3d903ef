/*
 * WeChat's message push at /api/wechat/push/:appid, as the sandbox sends it over real HTTP: the
 * server-address check, plaintext and safe mode, refusals, replays, and each handled event. The
 * signatures in the hand-made requests are computed here from WeChat's documented formula; the
 * sandbox's own sealing is checked against the documented algorithm in apps/wechat-mock.
 */
import { createHash, randomUUID } from "node:crypto";
import { MeSchema } from "@wxauth/contracts";
import {
  SANDBOX_APPID,
  SANDBOX_SECOND_APPID,
  SANDBOX_SECOND_SECRET,
  SANDBOX_SECRET,
  SandboxPushDeliverySchema,
} from "@wxauth/contracts/sandbox";
import { PUSH_MAX_AGE_S, WechatPush } from "@wxauth/wechat";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { eventually, securityEvents, uploadAvatar } from "../testing/content.js";
import {
  expectErrorBody,
  send,
  startTestApi,
  type HttpResult,
  type TestApi,
} from "../testing/harness.js";
import { deleteTestKeys, randomKeyPrefix, requireRedis, TEST_REDIS_URL } from "../testing/redis.js";

const SHOP = SANDBOX_APPID;
const STAFF = SANDBOX_SECOND_APPID;
/** Configured in the API, with no push Token: its push route does not exist. */
const QUIET = "wxsandboxquiet000003";
const SHOP_TOKEN = "shopPushToken1";
const STAFF_TOKEN = "staffPushToken2";
const STAFF_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const WECHAT_APPS = JSON.stringify([
  { appid: SHOP, secret: SANDBOX_SECRET, name: "shop", pushToken: SHOP_TOKEN },
  {
    appid: STAFF,
    secret: SANDBOX_SECOND_SECRET,
    name: "staff",
    pushToken: STAFF_TOKEN,
    pushAesKey: STAFF_AES_KEY,
  },
  { appid: QUIET, secret: "quiet-secret-000000000000000003", name: "quiet" },
]);

/** WeChat's formula, written out here: sha1 of the sorted parts joined. */
const sha1Sorted = (...parts: string[]) =>
  createHash("sha1").update(parts.sort().join("")).digest("hex");

const DeliveriesSchema = z.object({ deliveries: z.array(SandboxPushDeliverySchema) });

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ env: { WECHAT_APPS }, captureLogs: true });
  api.sandbox.configurePush(SHOP, {
    pushUrl: `${api.url}/api/wechat/push/${SHOP}`,
    pushToken: SHOP_TOKEN,
  });
  api.sandbox.configurePush(STAFF, {
    pushUrl: `${api.url}/api/wechat/push/${STAFF}`,
    pushToken: STAFF_TOKEN,
    pushAesKey: STAFF_AES_KEY,
  });
});
afterAll(() => api.close());

/** Has the sandbox push `message` to the app's push address, as WeChat does, `times` times. */
async function pushEvent(appid: string, message: Record<string, unknown>, times = 1) {
  const result = await send(api.sandbox.url, {
    method: "POST",
    path: "/__dev/push-event",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ appid, message, times }),
  });
  expect(result.status, result.text).toBe(200);
  return DeliveriesSchema.parse(result.body).deliveries;
}

/** POSTs a push made here (sealed as WeChat would, then perhaps spoiled) straight to the API. */
function postPush(appid: string, sealed: { query: Record<string, string>; body: string }) {
  return send(api.url, {
    method: "POST",
    path: `/api/wechat/push/${appid}?${new URLSearchParams(sealed.query).toString()}`,
    headers: { "content-type": "application/json" },
    body: sealed.body,
  });
}

const sealerOf = (appid: string, token: string, encodingAesKey?: string) =>
  new WechatPush({ appid, token, encodingAesKey });

function userEvent(event: string, appid: string, openid: string, extra: object = {}) {
  return { Event: event, FromUserName: "o-wechat-team", OpenID: openid, AppID: appid, ...extra };
}

async function me(accessToken: string) {
  const result = await api.request("GET", "/api/me", { token: accessToken });
  expect(result.status, result.text).toBe(200);
  return MeSchema.parse(result.body);
}

const eventsOf = (event: string, userId: string) =>
  securityEvents(api, event).filter((entry) => entry.userId === userId);

async function traceIdOfAvatar(userId: string): Promise<string> {
  const row = await api.deps.db
    .selectFrom("avatars")
    .select("check_trace_id")
    .where("user_id", "=", userId)
    .executeTakeFirstOrThrow();
  expect(row.check_trace_id).toEqual(expect.any(String));
  return row.check_trace_id!;
}

/** Resolves once the sandbox has delivered the verdict of `traceId` and the API answered. */
async function verdictDelivered(traceId: string): Promise<void> {
  await eventually(`the verdict push of ${traceId}`, async () => {
    const result = await send(api.sandbox.url, { path: "/__dev/pushes" });
    const pushes = (result.body as { pushes: Array<{ traceId?: string; ok: boolean }> }).pushes;
    const push = pushes.find((entry) => entry.traceId === traceId);
    if (push && !push.ok) throw new Error(`the verdict push was not accepted: ${result.text}`);
    return push !== undefined;
  });
}

async function setVerdict(suggest: "pass" | "review" | "risky", appid: string) {
  const result = await send(api.sandbox.url, {
    method: "POST",
    path: "/__dev/media-verdict",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ suggest, appid }),
  });
  expect(result.status, result.text).toBe(200);
}

function expectSuccess(result: HttpResult) {
  expect(result.status, result.text).toBe(200);
  expect(result.text).toBe("success");
}

describe("GET /api/wechat/push/:appid: the server-address check", () => {
  it("echoes echostr when signature = sha1(sort(Token, timestamp, nonce))", async () => {
    const query = { timestamp: "1714036504", nonce: "1514711492", echostr: "4375120948345356249" };
    const signature = sha1Sorted(SHOP_TOKEN, query.timestamp, query.nonce);
    const result = await api.raw({
      path: `/api/wechat/push/${SHOP}?${new URLSearchParams({ ...query, signature }).toString()}`,
    });
    expect(result.status).toBe(200);
    expect(result.text).toBe("4375120948345356249");
    expect(result.headers["content-type"]).toMatch(/^text\/plain/);
  });

  it("refuses a wrong signature with 401 and no echostr", async () => {
    const query = { timestamp: "1714036504", nonce: "1514711492", echostr: "42" };
    const signature = sha1Sorted("anotherToken", query.timestamp, query.nonce);
    const result = await api.raw({
      path: `/api/wechat/push/${SHOP}?${new URLSearchParams({ ...query, signature }).toString()}`,
    });
    expect(result.status).toBe(401);
    expectErrorBody(result, "UNAUTHORIZED");
  });

  it.each([
    ["an appid that is not configured", "wxnotconfigured0001"],
    ["an app configured without a push Token", QUIET],
  ])("answers 404 for %s", async (_name, appid) => {
    const query = { timestamp: "1", nonce: "2", echostr: "3" };
    const signature = sha1Sorted(SHOP_TOKEN, "1", "2");
    for (const method of ["GET", "POST"]) {
      const result = await api.raw({
        method,
        path: `/api/wechat/push/${appid}?${new URLSearchParams({ ...query, signature }).toString()}`,
        ...(method === "POST" ? { body: "{}" } : {}),
      });
      expect(result.status).toBe(404);
      expectErrorBody(result, "NOT_FOUND");
    }
  });
});

describe("POST /api/wechat/push/:appid: authenticating pushes", () => {
  it("plaintext mode: a correctly signed push is answered success, also an event wxauth does not handle", async () => {
    const deliveries = await pushEvent(SHOP, { Event: "subscribe_msg_popup_event", x: 1 });
    expect(deliveries).toEqual([{ status: 200, answer: "success", ok: true }]);
  });

  it("safe mode: an encrypted push with a correct msg_signature is answered success", async () => {
    const deliveries = await pushEvent(STAFF, { Event: "some_future_event" });
    expect(deliveries).toEqual([{ status: 200, answer: "success", ok: true }]);
  });

  it("plaintext mode: a wrong signature is 401 and changes nothing", async () => {
    const session = await api.register({ appid: SHOP });
    const sealed = sealerOf(SHOP, "notTheToken").seal(
      userEvent("user_authorization_cancellation", SHOP, session.openid),
    );
    const result = await postPush(SHOP, sealed);
    expect(result.status).toBe(401);
    expectErrorBody(result, "UNAUTHORIZED");
    expect((await me(session.accessToken)).identities).toHaveLength(1);
    expect(securityEvents(api, "wechat_push_refused").at(-1)).toMatchObject({
      appid: SHOP,
      reason: "bad_signature",
    });
  });

  it("plaintext mode: a body naming another app is refused (the signature does not cover the body: use safe mode)", async () => {
    const session = await api.register({ appid: STAFF });
    const sealed = sealerOf(SHOP, SHOP_TOKEN).seal(
      userEvent("user_authorization_cancellation", STAFF, session.openid),
    );
    const result = await postPush(SHOP, sealed);
    expect(result.status).toBe(401);
    expect((await me(session.accessToken)).identities).toHaveLength(1);
  });

  it("safe mode: a wrong msg_signature, a tampered Encrypt, the wrong key and a plaintext push are 401 and change nothing", async () => {
    const session = await api.register({ appid: STAFF });
    const message = userEvent("user_authorization_cancellation", STAFF, session.openid);
    const sealed = sealerOf(STAFF, STAFF_TOKEN, STAFF_AES_KEY).seal(message);
    const wrongSignature = {
      ...sealed,
      query: { ...sealed.query, msg_signature: sha1Sorted("x", "y") },
    };
    const envelope = JSON.parse(sealed.body) as { ToUserName: string; Encrypt: string };
    const flipped = envelope.Encrypt.startsWith("A") ? "B" : "A";
    const tampered = {
      ...sealed,
      body: JSON.stringify({ ...envelope, Encrypt: flipped + envelope.Encrypt.slice(1) }),
    };
    const otherKey = sealerOf(STAFF, STAFF_TOKEN, "Z".repeat(43)).seal(message);
    const plaintext = sealerOf(STAFF, STAFF_TOKEN).seal(message);
    for (const push of [wrongSignature, tampered, otherKey, plaintext]) {
      const result = await postPush(STAFF, push);
      expect(result.status, result.text).toBe(401);
      expectErrorBody(result, "UNAUTHORIZED");
    }
    expect((await me(session.accessToken)).identities).toHaveLength(1);
    // The genuine one is then accepted and acts.
    expectSuccess(await postPush(STAFF, sealed));
    expect((await api.request("GET", "/api/me", { token: session.accessToken })).status).toBe(401);
  });

  it("a genuine push signed over an hour ago (a captured one, replayed) is 401 and changes nothing", async () => {
    const session = await api.register({ appid: SHOP });
    const signedAt = Math.floor(Date.now() / 1000) - PUSH_MAX_AGE_S - 60;
    const stale = sealerOf(SHOP, SHOP_TOKEN).seal(
      userEvent("user_authorization_revoke", SHOP, session.openid, { RevokeInfo: "8" }),
      { timestamp: String(signedAt) },
    );
    const result = await postPush(SHOP, stale);
    expect(result.status, result.text).toBe(401);
    expectErrorBody(result, "UNAUTHORIZED");
    expect((await me(session.accessToken)).phone).toBe(session.user.phone);
  });

  it("a signed push whose body is not JSON is 400", async () => {
    const sealed = sealerOf(SHOP, SHOP_TOKEN).seal({});
    const result = await postPush(SHOP, { ...sealed, body: "<xml></xml>" });
    expect(result.status).toBe(400);
    expectErrorBody(result, "VALIDATION_FAILED");
  });
});

describe("wxa_media_check: the verdict of an avatar's check", () => {
  it.each([
    ["plaintext", SHOP],
    ["safe mode", STAFF],
  ])(
    "risky (%s): the avatar is removed, the user has none, avatarRemovedAt says when, avatar_removed written",
    async (_mode, appid) => {
      const session = await api.register({ appid });
      await setVerdict("risky", appid);
      const user = await uploadAvatar(api, session.accessToken);
      await verdictDelivered(await traceIdOfAvatar(session.user.id));
      const after = await me(session.accessToken);
      expect(after.avatarUrl).toBeNull();
      expect(after.avatarRemovedAt).toEqual(expect.any(String));
      expect((await fetch(user.avatarUrl!)).status).toBe(404);
      expect(eventsOf("avatar_removed", session.user.id)).toEqual([
        expect.objectContaining({ reason: "content_check", label: 20002 }),
      ]);
      // A new avatar clears the notice.
      await setVerdict("pass", appid);
      await uploadAvatar(api, session.accessToken);
      expect((await me(session.accessToken)).avatarRemovedAt).toBeNull();
    },
  );

  it("review: the avatar stays and content_review is written", async () => {
    const session = await api.register({ appid: SHOP });
    await setVerdict("review", SHOP);
    const user = await uploadAvatar(api, session.accessToken);
    await verdictDelivered(await traceIdOfAvatar(session.user.id));
    expect((await me(session.accessToken)).avatarUrl).toBe(user.avatarUrl);
    expect(eventsOf("content_review", session.user.id)).toEqual([
      expect.objectContaining({ field: "avatar", label: 21000 }),
    ]);
  });

  it("pass: the avatar stays, no event", async () => {
    const session = await api.register({ appid: SHOP });
    await setVerdict("pass", SHOP);
    const user = await uploadAvatar(api, session.accessToken);
    await verdictDelivered(await traceIdOfAvatar(session.user.id));
    const after = await me(session.accessToken);
    expect(after).toMatchObject({ avatarUrl: user.avatarUrl, avatarRemovedAt: null });
    expect((await fetch(user.avatarUrl!)).status).toBe(200);
    expect(eventsOf("content_review", session.user.id)).toEqual([]);
    expect(eventsOf("avatar_removed", session.user.id)).toEqual([]);
  });

  it("a verdict WeChat could not reach (errcode, no result) leaves the avatar as it is", async () => {
    const session = await api.register({ appid: SHOP });
    await setVerdict("pass", SHOP);
    const user = await uploadAvatar(api, session.accessToken);
    const traceId = await traceIdOfAvatar(session.user.id);
    await verdictDelivered(traceId);
    const deliveries = await pushEvent(SHOP, {
      Event: "wxa_media_check",
      appid: SHOP,
      trace_id: `${traceId}-other`,
      version: 2,
      errcode: 43104,
      errmsg: "invalid openid",
    });
    expect(deliveries[0]?.ok).toBe(true);
    expect((await me(session.accessToken)).avatarUrl).toBe(user.avatarUrl);
  });

  it("a later verdict of a check already answered is a replay: the same message twice changes nothing", async () => {
    const session = await api.register({ appid: SHOP });
    await setVerdict("pass", SHOP);
    await uploadAvatar(api, session.accessToken);
    const traceId = await traceIdOfAvatar(session.user.id);
    await verdictDelivered(traceId);
    const risky = (createTime: number) => ({
      Event: "wxa_media_check",
      CreateTime: createTime,
      appid: SHOP,
      trace_id: traceId,
      version: "2",
      errcode: 0,
      errmsg: "ok",
      result: { suggest: "risky", label: "20002" },
      detail: [],
    });
    // The pass verdict already claimed this trace_id: a later verdict of the same check is a replay.
    const deliveries = await pushEvent(SHOP, risky(1_800_000_000), 2);
    expect(deliveries.map((delivery) => delivery.answer)).toEqual(["success", "success"]);
    expect((await me(session.accessToken)).avatarUrl).not.toBeNull();
    expect(eventsOf("avatar_removed", session.user.id)).toEqual([]);
  });

  it("a risky verdict delivered again, twice, in another message of the same trace_id, removes once", async () => {
    const session = await api.register({ appid: STAFF });
    await setVerdict("risky", STAFF);
    await uploadAvatar(api, session.accessToken);
    const traceId = await traceIdOfAvatar(session.user.id);
    await verdictDelivered(traceId);
    expect(eventsOf("avatar_removed", session.user.id)).toHaveLength(1);
    // A new avatar, then the old verdict again (WeChat's retries repeat a request as it was).
    await setVerdict("pass", STAFF);
    const kept = await uploadAvatar(api, session.accessToken);
    const again = await pushEvent(
      STAFF,
      {
        Event: "wxa_media_check",
        CreateTime: 1_800_000_060,
        appid: STAFF,
        trace_id: traceId,
        version: 2,
        errcode: 0,
        result: { suggest: "risky", label: "20002" },
      },
      2,
    );
    expect(again.map((delivery) => delivery.answer)).toEqual(["success", "success"]);
    expect((await me(session.accessToken)).avatarUrl).toBe(kept.avatarUrl);
    expect(eventsOf("avatar_removed", session.user.id)).toHaveLength(1);
    const metrics = await api.deps.metrics.registry.metrics();
    expect(metrics).toMatch(
      /wxauth_wechat_pushes_total\{app="staff",event="wxa_media_check",result="duplicate"\} [2-9]/,
    );
  });
});

describe("wxa_media_check: an avatar set as a URL is checked too", () => {
  const setAvatarUrl = async (accessToken: string, avatarUrl: string) => {
    const result = await api.request("PATCH", "/api/me", {
      token: accessToken,
      body: { avatarUrl },
    });
    expect(result.status, result.text).toBe(200);
  };
  const traceIdOfAvatarUrl = async (userId: string) =>
    (
      await api.deps.db
        .selectFrom("users")
        .select("avatar_check_trace_id")
        .where("id", "=", userId)
        .executeTakeFirstOrThrow()
    ).avatar_check_trace_id;

  it("risky: the avatarUrl is removed, as an uploaded avatar is", async () => {
    const session = await api.register({ appid: SHOP });
    await setVerdict("risky", SHOP);
    await setAvatarUrl(session.accessToken, "https://thirdwx.qlogo.cn/mmopen/risky/132");
    const traceId = await traceIdOfAvatarUrl(session.user.id);
    expect(traceId).toEqual(expect.any(String));
    await verdictDelivered(traceId!);
    const after = await me(session.accessToken);
    expect(after.avatarUrl).toBeNull();
    expect(after.avatarRemovedAt).toEqual(expect.any(String));
    expect(eventsOf("avatar_removed", session.user.id)).toEqual([
      expect.objectContaining({ reason: "content_check", traceId }),
    ]);
  });

  it("a URL elsewhere shaped like an upload's is checked too; review keeps it and is recorded", async () => {
    const session = await api.register({ appid: SHOP });
    await setVerdict("review", SHOP);
    await setAvatarUrl(
      session.accessToken,
      `https://elsewhere.example/api/avatars/${randomUUID()}`,
    );
    const traceId = await traceIdOfAvatarUrl(session.user.id);
    expect(traceId).toEqual(expect.any(String));
    await verdictDelivered(traceId!);
    expect((await me(session.accessToken)).avatarUrl).toMatch(/^https:\/\/elsewhere\.example\//);
    expect(eventsOf("content_review", session.user.id)).toEqual([
      expect.objectContaining({ field: "avatar", traceId }),
    ]);
  });

  it("the same URL set again while its check runs is still removed by a risky verdict", async () => {
    const session = await api.register({ appid: SHOP });
    await setVerdict("risky", SHOP);
    const avatarUrl = "https://thirdwx.qlogo.cn/mmopen/again/132";
    await setAvatarUrl(session.accessToken, avatarUrl);
    const traceId = await traceIdOfAvatarUrl(session.user.id);
    await setAvatarUrl(session.accessToken, avatarUrl);
    expect(await traceIdOfAvatarUrl(session.user.id)).toBe(traceId);
    await verdictDelivered(traceId!);
    expect((await me(session.accessToken)).avatarUrl).toBeNull();
  });

  it("a risky verdict of a URL replaced since leaves the new avatar alone", async () => {
    const session = await api.register({ appid: SHOP });
    await setVerdict("risky", SHOP);
    await setAvatarUrl(session.accessToken, "https://thirdwx.qlogo.cn/mmopen/old/132");
    const traceId = await traceIdOfAvatarUrl(session.user.id);
    const replaced = await uploadAvatar(api, session.accessToken);
    await verdictDelivered(traceId!);
    expect((await me(session.accessToken)).avatarUrl).toBe(replaced.avatarUrl);
    expect(eventsOf("avatar_removed", session.user.id)).toEqual([]);
  });
});

describe("user_authorization_revoke: what the user withdrew is cleared", () => {
  async function profiledUser(appid: string) {
    const session = await api.register({ appid });
    await setVerdict("pass", appid);
    const patched = await api.request("PATCH", "/api/me", {
      token: session.accessToken,
      body: { nickname: "小红" },
    });
    expect(patched.status, patched.text).toBe(200);
    const user = await uploadAvatar(api, session.accessToken);
    return { session, avatarUrl: user.avatarUrl! };
  }

  it("6 (nickname and avatar): both go, the avatar's file too; the phone stays", async () => {
    const { session, avatarUrl } = await profiledUser(SHOP);
    const deliveries = await pushEvent(
      SHOP,
      userEvent("user_authorization_revoke", SHOP, session.openid, { RevokeInfo: "6" }),
    );
    expect(deliveries[0]?.answer).toBe("success");
    const after = await me(session.accessToken);
    expect(after).toMatchObject({ nickname: null, avatarUrl: null, avatarRemovedAt: null });
    expect(after.phone).toBe(session.user.phone);
    expect((await fetch(avatarUrl)).status).toBe(404);
    expect(eventsOf("wechat_authorization_revoked", session.user.id)).toEqual([
      expect.objectContaining({
        revokeInfo: "6",
        clearedNickname: true,
        clearedAvatar: true,
        clearedPhone: false,
      }),
    ]);
  });

  it("8 (phone number), in safe mode: the phone goes; nickname and avatar stay", async () => {
    const { session, avatarUrl } = await profiledUser(STAFF);
    await pushEvent(
      STAFF,
      userEvent("user_authorization_revoke", STAFF, session.openid, { RevokeInfo: "8" }),
    );
    const after = await me(session.accessToken);
    expect(after).toMatchObject({ phone: null, nickname: "小红", avatarUrl });
  });

  it("19 and 20 (the nickname keyboard's nickname, the avatar component's avatar) each clear their own", async () => {
    const { session } = await profiledUser(SHOP);
    await pushEvent(
      SHOP,
      userEvent("user_authorization_revoke", SHOP, session.openid, { " RevokeInfo": "19" }),
    );
    expect(await me(session.accessToken)).toMatchObject({ nickname: null });
    expect((await me(session.accessToken)).avatarUrl).not.toBeNull();
    await pushEvent(
      SHOP,
      userEvent("user_authorization_revoke", SHOP, session.openid, { RevokeInfo: 20 }),
    );
    expect((await me(session.accessToken)).avatarUrl).toBeNull();
  });

  it("a withdrawal of something wxauth does not keep (5, the microphone) changes nothing but is recorded", async () => {
    const { session, avatarUrl } = await profiledUser(SHOP);
    await pushEvent(
      SHOP,
      userEvent("user_authorization_revoke", SHOP, session.openid, { RevokeInfo: "5" }),
    );
    expect(await me(session.accessToken)).toMatchObject({ nickname: "小红", avatarUrl });
    expect(eventsOf("wechat_authorization_revoked", session.user.id)).toEqual([
      expect.objectContaining({ revokeInfo: "5", clearedNickname: false }),
    ]);
  });

  it("the same push delivered again acts once: a nickname set since is not cleared by the replay", async () => {
    const { session } = await profiledUser(SHOP);
    const message = userEvent("user_authorization_revoke", SHOP, session.openid, {
      RevokeInfo: "19",
      CreateTime: 1_800_000_000,
    });
    await pushEvent(SHOP, message);
    const renamed = await api.request("PATCH", "/api/me", {
      token: session.accessToken,
      body: { nickname: "新名字" },
    });
    expect(renamed.status).toBe(200);
    const replayed = await pushEvent(SHOP, message, 2);
    expect(replayed.map((delivery) => delivery.answer)).toEqual(["success", "success"]);
    expect((await me(session.accessToken)).nickname).toBe("新名字");
    expect(eventsOf("wechat_authorization_revoked", session.user.id)).toHaveLength(1);
  });

  it("a delivery while an earlier one is still acting is answered 503; when that one fails, the next acts", async () => {
    const { session } = await profiledUser(SHOP);
    const sealed = sealerOf(SHOP, SHOP_TOKEN).seal(
      userEvent("user_authorization_revoke", SHOP, session.openid, {
        RevokeInfo: "19",
        CreateTime: 1_800_000_100,
      }),
    );
    // The first delivery waits on the user's row, which this transaction holds.
    const holder = new pg.Client(api.config.databaseUrl);
    await holder.connect();
    try {
      await holder.query("begin");
      await holder.query("select 1 from users where id = $1 for update", [session.user.id]);
      const first = postPush(SHOP, sealed);
      let waitingPid: number | undefined;
      await eventually("the first delivery waiting on the user's row", async () => {
        const { rows } = await holder.query<{ pid: number }>(
          "select pid from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
        );
        waitingPid = rows[0]?.pid;
        return waitingPid !== undefined;
      });

      const second = await postPush(SHOP, sealed);
      expect(second.status).toBe(503);
      expect(expectErrorBody(second, "SERVICE_UNAVAILABLE").error.retryable).toBe(true);

      // The first delivery fails (its connection is cut): WeChat gets no success from it either.
      await holder.query("select pg_terminate_backend($1)", [waitingPid]);
      expect((await first).status).toBe(503);
      await holder.query("rollback");
    } finally {
      await holder.end();
    }

    // WeChat's next delivery acts, once.
    expectSuccess(await postPush(SHOP, sealed));
    expect((await me(session.accessToken)).nickname).toBeNull();
    expectSuccess(await postPush(SHOP, sealed));
    expect(eventsOf("wechat_authorization_revoked", session.user.id)).toHaveLength(1);
  });
});

describe("user_authorization_cancellation: the identity goes", () => {
  it("an account with another app keeps it: only that app's identity and sessions go", async () => {
    const person = `person-${randomUUID()}`;
    const shop = await api.register({ appid: SHOP, person });
    const { code } = await api.loginCode({ appid: STAFF, person });
    const staffLogin = await api.login(code, STAFF);
    expect(staffLogin.status).toBe("authenticated");
    const staff = staffLogin as { accessToken: string };

    await pushEvent(SHOP, userEvent("user_authorization_cancellation", SHOP, shop.openid));

    expect((await api.request("GET", "/api/me", { token: shop.accessToken })).status).toBe(401);
    const after = await me(staff.accessToken);
    expect(after.identities.map((identity) => identity.appid)).toEqual([STAFF]);
    expect(after.deletionScheduledAt).toBeNull();
    const keys = await api.deps.db
      .selectFrom("wechat_session_keys")
      .select("id")
      .where("appid", "=", SHOP)
      .where("openid", "=", shop.openid)
      .execute();
    expect(keys).toEqual([]);
    expect(eventsOf("wechat_authorization_cancelled", shop.user.id)).toEqual([
      expect.objectContaining({ identityRemoved: true, deletionScheduled: false }),
    ]);
  });

  it("both apps' identities cancelled at once: the account is left with none and its deletion scheduled", async () => {
    const person = `person-${randomUUID()}`;
    const shop = await api.register({ appid: SHOP, person });
    const { code } = await api.loginCode({ appid: STAFF, person });
    const staffLogin = await api.login(code, STAFF);
    expect(staffLogin.status).toBe("authenticated");
    const staffOpenid = (await api.deps.data.wechatIdentities.listForUser(shop.user.id)).find(
      (identity) => identity.appid === STAFF,
    )!.openid;

    // Straight to the service, so that the two transactions overlap.
    const { accountDeletion } = api.deps;
    await Promise.all([
      accountDeletion.cancelWechatAuthorization({ appid: SHOP, openid: shop.openid }, "r1"),
      accountDeletion.cancelWechatAuthorization({ appid: STAFF, openid: staffOpenid }, "r2"),
    ]);

    expect(await api.deps.data.wechatIdentities.listForUser(shop.user.id)).toEqual([]);
    const row = await api.deps.db
      .selectFrom("users")
      .select("deletion_scheduled_at")
      .where("id", "=", shop.user.id)
      .executeTakeFirstOrThrow();
    expect(row.deletion_scheduled_at).not.toBeNull();
  });

  it("the account's only identity: its deletion is scheduled with the cooling-off period, every session signed out", async () => {
    const session = await api.register({ appid: STAFF });
    const before = Date.now();
    const deliveries = await pushEvent(
      STAFF,
      userEvent("user_authorization_cancellation", STAFF, session.openid),
    );
    expect(deliveries[0]?.answer).toBe("success");
    expect((await api.request("GET", "/api/me", { token: session.accessToken })).status).toBe(401);
    const row = await api.deps.db
      .selectFrom("users")
      .select("deletion_scheduled_at")
      .where("id", "=", session.user.id)
      .executeTakeFirstOrThrow();
    const due = row.deletion_scheduled_at!.getTime();
    const coolingOffMs = api.config.accountDeletionCoolingOffS * 1000;
    expect(due).toBeGreaterThanOrEqual(before + coolingOffMs - 1000);
    expect(due).toBeLessThanOrEqual(Date.now() + coolingOffMs + 1000);
    expect(eventsOf("deletion_requested", session.user.id)).toEqual([
      expect.objectContaining({ by: "wechat_authorization_cancellation" }),
    ]);
    // The purge, once due, takes the account.
    api.clock.advance(coolingOffMs + 1000);
    try {
      expect(await api.deps.accountDeletion.purgeDue()).toBeGreaterThanOrEqual(1);
    } finally {
      api.clock.advance(-(coolingOffMs + 1000));
    }
    const gone = await api.deps.db
      .selectFrom("users")
      .select("id")
      .where("id", "=", session.user.id)
      .executeTakeFirst();
    expect(gone).toBeUndefined();
  });

  it("a cancellation for an identity wxauth does not know is answered success and changes nothing", async () => {
    const deliveries = await pushEvent(
      SHOP,
      userEvent("user_authorization_cancellation", SHOP, `o-unknown-${randomUUID()}`),
    );
    expect(deliveries[0]?.answer).toBe("success");
  });
});

describe("user_info_modified: WeChat cleaned a risky nickname or avatar", () => {
  it("clears the nickname and the avatar (avatarRemovedAt set), and writes wechat_user_info_modified", async () => {
    const session = await api.register({ appid: SHOP });
    await setVerdict("pass", SHOP);
    expect(
      (
        await api.request("PATCH", "/api/me", {
          token: session.accessToken,
          body: { nickname: "旧昵称" },
        })
      ).status,
    ).toBe(200);
    await uploadAvatar(api, session.accessToken);
    await pushEvent(SHOP, userEvent("user_info_modified", SHOP, session.openid));
    const after = await me(session.accessToken);
    expect(after).toMatchObject({ nickname: null, avatarUrl: null });
    expect(after.avatarRemovedAt).toEqual(expect.any(String));
    expect(eventsOf("wechat_user_info_modified", session.user.id)).toEqual([
      expect.objectContaining({ cleared: true }),
    ]);
  });

  it("one without an OpenID (some pushes lack it) is answered success and recorded", async () => {
    const deliveries = await pushEvent(SHOP, {
      Event: "user_info_modified",
      AppID: SHOP,
      CreateTime: 1_800_000_123,
    });
    expect(deliveries[0]?.answer).toBe("success");
    expect(securityEvents(api, "wechat_user_info_modified").at(-1)).toMatchObject({
      userId: null,
      cleared: false,
    });
  });
});

describe("two instances on one database and one Redis", () => {
  it("the same push delivered to both at once is handled by one, and answered success once done", async () => {
    await requireRedis();
    const keyPrefix = randomKeyPrefix();
    const shared = { WECHAT_APPS, REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: keyPrefix };
    const first = await startTestApi({ env: shared, captureLogs: true });
    const second = await startTestApi({
      env: { ...shared, DATABASE_URL: first.config.databaseUrl },
      captureLogs: true,
    });
    try {
      const session = await first.register({ appid: SHOP });
      const sealed = sealerOf(SHOP, SHOP_TOKEN).seal(
        userEvent("user_authorization_revoke", SHOP, session.openid, { RevokeInfo: "8" }),
      );
      const path = `/api/wechat/push/${SHOP}?${new URLSearchParams(sealed.query).toString()}`;
      const answers = await Promise.all(
        [first, second, first, second].map((instance) =>
          send(instance.url, {
            method: "POST",
            path,
            headers: { "content-type": "application/json" },
            body: sealed.body,
          }),
        ),
      );
      // One delivery acts; one still acting makes the others 503 (WeChat delivers them again),
      // and one arriving after it is done is answered success.
      for (const answer of answers) {
        if (answer.status === 503) expectErrorBody(answer, "SERVICE_UNAVAILABLE");
        else expectSuccess(answer);
      }
      expect(answers.filter((answer) => answer.status === 200).length).toBeGreaterThanOrEqual(1);
      expectSuccess(
        await send(second.url, {
          method: "POST",
          path,
          headers: { "content-type": "application/json" },
          body: sealed.body,
        }),
      );
      const handled = [first, second].flatMap((instance) =>
        securityEvents(instance, "wechat_authorization_revoked").filter(
          (entry) => entry.userId === session.user.id,
        ),
      );
      expect(handled).toHaveLength(1);
    } finally {
      await second.close();
      await first.close();
      await deleteTestKeys(keyPrefix);
    }
  });
});
