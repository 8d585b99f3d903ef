import { createDecipheriv, createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SandboxPushesSchema, SandboxPushEventResponseSchema } from "@wxauth/contracts/sandbox";
import { WechatClient, WechatPush, parsePushEvent } from "@wxauth/wechat";
import {
  SANDBOX_APPID,
  SANDBOX_SECOND_APPID,
  SANDBOX_SECOND_SECRET,
  SANDBOX_SECRET,
} from "./index.js";
import {
  expectErrcode,
  pushReceiver,
  testSandbox,
  type ReceivedPush,
  type TestSandbox,
} from "./testing/helpers.js";

const TOKEN = "push-token-1";
const AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

/*
 * WeChat's documented algorithm, written out here on its own so the sandbox's pushes are checked
 * against the documents and not against @wxauth/wechat, which seals them:
 * signature = sha1(sort(Token, timestamp, nonce)); msg_signature = sha1(sort(Token, timestamp,
 * nonce, Encrypt)); Encrypt = base64(AES-256-CBC(key = base64decode(EncodingAESKey + "="),
 * IV = key[0..16), 16 random bytes + uint32 BE length + message + appid, PKCS#7 to 32 bytes)).
 */
function sha1OfSorted(...parts: string[]): string {
  return createHash("sha1").update(parts.sort().join("")).digest("hex");
}

function decryptAsDocumented(encrypt: string): { message: string; appid: string } {
  const key = Buffer.from(`${AES_KEY}=`, "base64");
  const decipher = createDecipheriv("aes-256-cbc", key, key.subarray(0, 16));
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(Buffer.from(encrypt, "base64")), decipher.final()]);
  expect(plain.length % 32).toBe(0);
  const pad = plain[plain.length - 1] ?? 0;
  expect(pad).toBeGreaterThanOrEqual(1);
  expect(pad).toBeLessThanOrEqual(32);
  expect([...plain.subarray(plain.length - pad)]).toEqual(new Array(pad).fill(pad));
  const length = plain.readUInt32BE(16);
  return {
    message: plain.subarray(20, 20 + length).toString("utf8"),
    appid: plain.subarray(20 + length, plain.length - pad).toString("utf8"),
  };
}

/** The message of a push, after checking it exactly as the documents say a receiver must. */
function openAsDocumented(push: ReceivedPush, appid: string): Record<string, unknown> {
  const { signature, timestamp = "", nonce = "" } = push.query;
  expect(push.method).toBe("POST");
  expect(push.contentType).toMatch(/^application\/json/);
  expect(signature).toBe(sha1OfSorted(TOKEN, timestamp, nonce));
  if (push.query.encrypt_type === undefined)
    return JSON.parse(push.body) as Record<string, unknown>;
  expect(push.query.encrypt_type).toBe("aes");
  const envelope = JSON.parse(push.body) as { Encrypt: string; ToUserName: string };
  expect(push.query.msg_signature).toBe(sha1OfSorted(TOKEN, timestamp, nonce, envelope.Encrypt));
  const opened = decryptAsDocumented(envelope.Encrypt);
  expect(opened.appid).toBe(appid);
  const message = JSON.parse(opened.message) as Record<string, unknown>;
  expect(envelope.ToUserName).toBe(message.ToUserName);
  return message;
}

async function signedIn(sandbox: TestSandbox, appid = SANDBOX_APPID, secret = SANDBOX_SECRET) {
  const { code, openid } = await sandbox.loginCode({ person: "alice", appid });
  await sandbox.exchange(code, { appid, secret });
  return { openid, accessToken: await sandbox.accessTokenOf(appid, secret) };
}

describe("POST /wxa/msg_sec_check", () => {
  it.each([
    ["小明", "pass", 100],
    ["待审的昵称", "review", 21000],
    ["有违规内容", "risky", 20006],
  ])("answers %s with suggest %s", async (content, suggest, label) => {
    const sandbox = await testSandbox();
    const { openid, accessToken } = await signedIn(sandbox);
    const res = await sandbox.post(`/wxa/msg_sec_check?access_token=${accessToken}`, {
      content,
      version: 2,
      scene: 1,
      openid,
    });
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      errcode: 0,
      errmsg: "ok",
      result: { suggest, label },
      detail: expect.arrayContaining([
        { strategy: "content_model", errcode: 0, suggest, label, prob: 90 },
      ]),
      trace_id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/),
    });
    expect(sandbox.stats().calls.msg_sec_check).toBe(1);
  });

  it("answers errors as WeChat does: HTTP 200 with an errcode", async () => {
    const sandbox = await testSandbox();
    const { openid, accessToken } = await signedIn(sandbox);
    const check = (token: string, body: unknown) =>
      sandbox.postJson(`/wxa/msg_sec_check?access_token=${token}`, body);
    const ok = { content: "x", version: 2, scene: 1, openid };
    expectErrcode(await sandbox.postJson("/wxa/msg_sec_check", ok), 41001);
    expectErrcode(await check("not-a-token", ok), 40001);
    expectErrcode(await check(accessToken, "{oops"), 47001);
    expectErrcode(await check(accessToken, { ...ok, version: 1 }), 47001);
    expectErrcode(await check(accessToken, { ...ok, scene: 9 }), 40129);
    expectErrcode(await check(accessToken, { ...ok, openid: undefined }), 44002);
    expectErrcode(await check(accessToken, { ...ok, content: "" }), 44002);
    expectErrcode(await check(accessToken, { ...ok, content: "字".repeat(2501) }), 47001);
    const res = await sandbox.get(`/wxa/msg_sec_check?access_token=${accessToken}`);
    expect(res.status).toBe(200);
    expectErrcode((await res.json()) as Record<string, unknown>, 43002);
  });

  it("answers 43104 to an openid of another app, and checks with that app's token", async () => {
    const sandbox = await testSandbox();
    const first = await signedIn(sandbox);
    const second = await signedIn(sandbox, SANDBOX_SECOND_APPID, SANDBOX_SECOND_SECRET);
    const body = (openid: string) => ({ content: "x", version: 2, scene: 1, openid });
    expectErrcode(
      await sandbox.postJson(
        `/wxa/msg_sec_check?access_token=${first.accessToken}`,
        body(second.openid),
      ),
      43104,
    );
    expect(
      await sandbox.postJson(
        `/wxa/msg_sec_check?access_token=${second.accessToken}`,
        body(second.openid),
      ),
    ).toMatchObject({ errcode: 0 });
  });

  it("fails as armed by /__dev/fail, so a caller can see WeChat unreachable", async () => {
    const sandbox = await testSandbox();
    const { openid, accessToken } = await signedIn(sandbox);
    await sandbox.post("/__dev/fail", { api: "msg_sec_check", errcode: "http500" });
    const res = await sandbox.post(`/wxa/msg_sec_check?access_token=${accessToken}`, {
      content: "x",
      version: 2,
      scene: 1,
      openid,
    });
    expect(res.status).toBe(500);
  });
});

describe("POST /wxa/media_check_async and the pushed verdict", () => {
  async function mediaCheck(sandbox: TestSandbox, appid = SANDBOX_APPID, secret = SANDBOX_SECRET) {
    const { openid, accessToken } = await signedIn(sandbox, appid, secret);
    const answer = await sandbox.postJson<{ errcode: number; trace_id: string }>(
      `/wxa/media_check_async?access_token=${accessToken}`,
      {
        media_url: "https://cdn.example.com/avatars/1.png",
        media_type: 2,
        version: 2,
        scene: 1,
        openid,
      },
    );
    return { openid, answer };
  }

  it.each([
    ["plaintext", undefined],
    ["safe", AES_KEY],
  ])(
    "answers a trace_id, then pushes the verdict in %s mode as WeChat does",
    async (_mode, key) => {
      const receiver = await pushReceiver("/api/wechat/push/wxsandbox0000000001");
      const sandbox = await testSandbox({ mediaCheckDelayMs: 0 });
      sandbox.configurePush(SANDBOX_APPID, {
        pushUrl: receiver.url,
        pushToken: TOKEN,
        pushAesKey: key,
      });
      await sandbox.post("/__dev/media-verdict", { suggest: "risky" });
      const { openid, answer } = await mediaCheck(sandbox);
      expect(answer).toEqual({ errcode: 0, errmsg: "ok", trace_id: expect.any(String) });

      await expect.poll(() => receiver.received.length).toBe(1);
      const [push] = receiver.received;
      if (push === undefined) throw new Error("no push");
      expect(push.path).toBe("/api/wechat/push/wxsandbox0000000001");
      expect(push.query.encrypt_type).toBe(key === undefined ? undefined : "aes");
      expect(openAsDocumented(push, SANDBOX_APPID)).toEqual({
        ToUserName: expect.stringMatching(/^gh_/),
        FromUserName: openid,
        CreateTime: Math.floor(sandbox.clock.now() / 1000),
        MsgType: "event",
        Event: "wxa_media_check",
        appid: SANDBOX_APPID,
        trace_id: answer.trace_id,
        version: 2,
        detail: [
          { strategy: "content_model", errcode: 0, suggest: "risky", label: "20002", prob: 90 },
        ],
        errcode: 0,
        errmsg: "ok",
        result: { suggest: "risky", label: "20002" },
      });
      const pushes = SandboxPushesSchema.parse(await sandbox.getJson("/__dev/pushes")).pushes;
      expect(pushes).toEqual([
        {
          appid: SANDBOX_APPID,
          event: "wxa_media_check",
          traceId: answer.trace_id,
          encrypted: key !== undefined,
          status: 200,
          answer: "success",
          ok: true,
          sentAt: expect.any(String),
        },
      ]);
      expect(sandbox.logs.some((line) => /^PUSH \/api\/wechat\/push\/\S+ appid=/.test(line))).toBe(
        true,
      );
    },
  );

  it("pushes pass by default, the verdict set only once, per app when asked", async () => {
    const receiver = await pushReceiver();
    const sandbox = await testSandbox({ mediaCheckDelayMs: 0 });
    for (const appid of [SANDBOX_APPID, SANDBOX_SECOND_APPID]) {
      sandbox.configurePush(appid, { pushUrl: receiver.url, pushToken: TOKEN });
    }
    await sandbox.post("/__dev/media-verdict", { suggest: "review", appid: SANDBOX_SECOND_APPID });
    await mediaCheck(sandbox);
    await mediaCheck(sandbox, SANDBOX_SECOND_APPID, SANDBOX_SECOND_SECRET);
    await mediaCheck(sandbox, SANDBOX_SECOND_APPID, SANDBOX_SECOND_SECRET);
    await expect.poll(() => receiver.received.length).toBe(3);
    const verdicts = receiver.received
      .map((push) => JSON.parse(push.body) as { appid: string; result: { suggest: string } })
      .map((message) => `${message.appid} ${message.result.suggest}`)
      .sort();
    expect(verdicts).toEqual([
      `${SANDBOX_APPID} pass`,
      `${SANDBOX_SECOND_APPID} pass`,
      `${SANDBOX_SECOND_APPID} review`,
    ]);
  });

  it("records, and logs, a verdict it had no push address for", async () => {
    const sandbox = await testSandbox({ mediaCheckDelayMs: 0 });
    await mediaCheck(sandbox);
    await expect
      .poll(async () => SandboxPushesSchema.parse(await sandbox.getJson("/__dev/pushes")).pushes)
      .toEqual([expect.objectContaining({ status: null, ok: false, event: "wxa_media_check" })]);
    expect(sandbox.logs.some((line) => line.includes("skipped: no push address"))).toBe(true);
  });

  it("answers errors as WeChat does", async () => {
    const sandbox = await testSandbox();
    const { openid, accessToken } = await signedIn(sandbox);
    const ok = { media_url: "https://x/a.png", media_type: 2, version: 2, scene: 1, openid };
    const check = (body: unknown) =>
      sandbox.postJson(`/wxa/media_check_async?access_token=${accessToken}`, body);
    expectErrcode(await check({ ...ok, media_type: 3 }), 47001);
    expectErrcode(await check({ ...ok, media_url: "" }), 44002);
    expectErrcode(await check({ ...ok, media_url: "not a url" }), 47001);
    expectErrcode(await check({ ...ok, scene: 0 }), 40129);
    expectErrcode(await sandbox.postJson("/wxa/media_check_async?access_token=nope", ok), 40001);
  });
});

describe("POST /__dev/push-event", () => {
  it("pushes any message, filled with WeChat's envelope, signed and encrypted", async () => {
    const receiver = await pushReceiver();
    const sandbox = await testSandbox();
    await sandbox.post("/__dev/push-config", {
      appid: SANDBOX_SECOND_APPID,
      pushUrl: receiver.url,
      pushToken: TOKEN,
      pushAesKey: AES_KEY,
    });
    const message = {
      Event: "user_authorization_revoke",
      OpenID: "oSomeone",
      AppID: SANDBOX_SECOND_APPID,
      RevokeInfo: "6",
    };
    const reply = SandboxPushEventResponseSchema.parse(
      await sandbox.postJson("/__dev/push-event", { appid: SANDBOX_SECOND_APPID, message }),
    );
    expect(reply).toEqual({ deliveries: [{ status: 200, answer: "success", ok: true }] });
    const [push] = receiver.received;
    if (push === undefined) throw new Error("no push");
    expect(openAsDocumented(push, SANDBOX_SECOND_APPID)).toEqual({
      ToUserName: expect.stringMatching(/^gh_[0-9a-f]{12}$/),
      CreateTime: Math.floor(sandbox.clock.now() / 1000),
      MsgType: "event",
      ...message,
    });
  });

  it("repeats the very same request `times` times, and reports what the receiver answered", async () => {
    const receiver = await pushReceiver();
    receiver.answer = "no thanks";
    const sandbox = await testSandbox();
    await sandbox.post("/__dev/push-config", {
      appid: SANDBOX_APPID,
      pushUrl: receiver.url,
      pushToken: TOKEN,
    });
    const reply = await sandbox.postJson("/__dev/push-event", {
      message: { Event: "debug_demo", CreateTime: 1714037059 },
      times: 2,
    });
    expect(reply).toEqual({
      deliveries: [
        { status: 200, answer: "no thanks", ok: false },
        { status: 200, answer: "no thanks", ok: false },
      ],
    });
    const [first, second] = receiver.received;
    expect(second).toEqual(first);
    expect(JSON.parse(first?.body ?? "")).toMatchObject({ CreateTime: 1714037059 });
  });

  it("reports an unreachable receiver, and refuses an app without a push address", async () => {
    const receiver = await pushReceiver();
    await receiver.close();
    const sandbox = await testSandbox();
    sandbox.configurePush(SANDBOX_APPID, { pushUrl: receiver.url, pushToken: TOKEN });
    expect(
      await sandbox.postJson("/__dev/push-event", { message: { Event: "debug_demo" } }),
    ).toEqual({
      deliveries: [{ status: null, answer: expect.stringMatching(/^not delivered/), ok: false }],
    });
    const res = await sandbox.post("/__dev/push-event", {
      appid: SANDBOX_SECOND_APPID,
      message: { Event: "debug_demo" },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/no push address/);
  });

  it.each([
    ["/__dev/push-config", { appid: SANDBOX_APPID, pushAesKey: "short" }, /pushAesKey/],
    ["/__dev/push-config", { appid: SANDBOX_APPID, pushUrl: "ftp://x" }, /pushUrl/],
    ["/__dev/push-config", { appid: "wxnope" }, /not one of/],
    ["/__dev/push-event", { message: [] }, /message/],
    ["/__dev/media-verdict", { suggest: "maybe" }, /suggest/],
  ])("%s refuses %j with a readable 400", async (path, body, message) => {
    const sandbox = await testSandbox();
    const res = await sandbox.post(path, body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(message);
  });
});

describe("with @wxauth/wechat, as the API will use them", () => {
  it("msgSecCheck, then mediaCheckAsync whose safe-mode push opens to the same trace id", async () => {
    const receiver = await pushReceiver();
    const sandbox = await testSandbox({ mediaCheckDelayMs: 0 });
    sandbox.configurePush(SANDBOX_SECOND_APPID, {
      pushUrl: receiver.url,
      pushToken: TOKEN,
      pushAesKey: AES_KEY,
    });
    const client = new WechatClient({
      appid: SANDBOX_SECOND_APPID,
      secret: SANDBOX_SECOND_SECRET,
      baseUrl: sandbox.url,
    });
    const { code } = await sandbox.loginCode({ appid: SANDBOX_SECOND_APPID, person: "zoe" });
    const { openid } = await client.code2Session(code);
    expect(await client.msgSecCheck({ openid, content: "违规昵称", scene: 1 })).toMatchObject({
      suggest: "risky",
      label: 20006,
    });
    await sandbox.post("/__dev/media-verdict", { suggest: "risky" });
    const { traceId } = await client.mediaCheckAsync({
      openid,
      mediaUrl: "https://cdn.example.com/a.png",
      mediaType: 2,
      scene: 1,
    });
    await expect.poll(() => receiver.received.length).toBe(1);
    const [push] = receiver.received;
    const receiving = new WechatPush({
      appid: SANDBOX_SECOND_APPID,
      token: TOKEN,
      encodingAesKey: AES_KEY,
    });
    const event = parsePushEvent(receiving.open(push?.query ?? {}, push?.body ?? ""));
    expect(event).toMatchObject({
      type: "wxa_media_check",
      traceId,
      result: { suggest: "risky", label: 20002 },
    });
    client.close();
  });
});
