import { describe, expect, it } from "vitest";
import type { FakeWechat } from "./testing/fake-wechat.js";
import {
  FAKE_APPID,
  PATHS,
  hang,
  msgSecCheckReply,
  sequence,
  wechatError,
  withValidToken,
  send,
} from "./testing/fake-wechat.js";
import { clientOf, failureOf, newStore, timeoutOf, useFakeWechat } from "./testing/helpers.js";

let fake: FakeWechat;
useFakeWechat((started) => (fake = started));

describe("msgSecCheck", () => {
  it("posts content, version 2, scene and openid with the access token", async () => {
    const { client } = clientOf(fake);
    const result = await client.msgSecCheck({ openid: "o-user", content: "小明", scene: 1 });
    expect(result).toEqual({
      suggest: "pass",
      label: 100,
      traceId: "trace-text-1",
      detail: [
        {
          strategy: "content_model",
          errcode: 0,
          suggest: "pass",
          label: 100,
          prob: 90,
          keyword: null,
        },
        { strategy: "keyword", errcode: 0, suggest: null, label: null, prob: null, keyword: null },
      ],
    });
    const [request] = fake.requests(PATHS.msgSecCheck);
    expect(request?.method).toBe("POST");
    expect(request?.query.get("access_token")).toBe("token-1");
    expect(request?.body).toEqual({ content: "小明", version: 2, scene: 1, openid: "o-user" });
  });

  it.each([
    ["risky", 20001],
    ["review", "21000"],
    ["pass", "100"],
  ] as const)("gives suggest %s, with label %j read as a number", async (suggest, label) => {
    fake.on(PATHS.msgSecCheck, msgSecCheckReply({ suggest, label }, fake));
    const { client } = clientOf(fake);
    const result = await client.msgSecCheck({ openid: "o", content: "x", scene: 1 });
    expect(result.suggest).toBe(suggest);
    expect(result.label).toBe(Number(label));
    expect(result.detail[0]?.label).toBe(Number(label));
  });

  it("an unknown suggest is a non-retryable parse error", async () => {
    fake.on(PATHS.msgSecCheck, msgSecCheckReply({ suggest: "maybe", label: 100 }, fake));
    const { client } = clientOf(fake);
    const error = await failureOf(client.msgSecCheck({ openid: "o", content: "x", scene: 1 }));
    expect(error).toMatchObject({ api: "msg_sec_check", kind: "parse", retryable: false });
  });

  it("a rejected access token (40001) is invalidated and the check retried once", async () => {
    const { client } = clientOf(fake);
    expect(await client.accessTokens.get()).toBe("token-1");
    fake.validTokens.delete("token-1");
    const result = await client.msgSecCheck({ openid: "o", content: "x", scene: 1 });
    expect(result.suggest).toBe("pass");
    expect(fake.requests(PATHS.msgSecCheck).map((r) => r.query.get("access_token"))).toEqual([
      "token-1",
      "token-2",
    ]);
  });

  it.each([
    [40003, "invalid openid"],
    [43104, "appid and openid not match"],
    [40129, "invalid scene"],
  ])("errcode %i is a non-retryable wechat error, asked once", async (errcode, errmsg) => {
    fake.on(PATHS.msgSecCheck, withValidToken(fake, wechatError(errcode, errmsg)));
    const { client } = clientOf(fake);
    const error = await failureOf(client.msgSecCheck({ openid: "o", content: "x", scene: 1 }));
    expect(error).toMatchObject({
      api: "msg_sec_check",
      kind: "wechat",
      errcode,
      retryable: false,
    });
    expect(fake.count(PATHS.msgSecCheck)).toBe(1);
  });

  it("retries -1, and ends in a retryable timeout when WeChat never answers", async () => {
    fake.on(
      PATHS.msgSecCheck,
      sequence([wechatError(-1)], msgSecCheckReply({ suggest: "pass", label: 100 }, fake)),
    );
    const { client } = clientOf(fake);
    expect((await client.msgSecCheck({ openid: "o", content: "x", scene: 1 })).suggest).toBe(
      "pass",
    );
    fake.on(PATHS.msgSecCheck, hang);
    const slow = clientOf(fake, { timeoutMs: 300 }).client;
    await timeoutOf(slow.msgSecCheck({ openid: "o", content: "x", scene: 1 }), 300);
  });

  it("never logs the openid or the token", async () => {
    fake.on(
      PATHS.msgSecCheck,
      withValidToken(fake, (request, response) =>
        send(response, {
          errcode: -1,
          errmsg: `busy ${JSON.stringify(request.body)} ${request.query.get("access_token")}`,
        }),
      ),
    );
    const { client, logs } = clientOf(fake, { retries: 1 });
    const error = await failureOf(
      client.msgSecCheck({ openid: "o-secret-openid", content: "x", scene: 1 }),
    );
    const everything = JSON.stringify(logs) + error.message;
    expect(everything).not.toContain("o-secret-openid");
    expect(everything).not.toContain("token-1");
  });
});

describe("mediaCheckAsync", () => {
  it("posts media_url, media_type, version 2, scene and openid, and returns the trace id", async () => {
    const { client } = clientOf(fake);
    const result = await client.mediaCheckAsync({
      openid: "o-user",
      mediaUrl: "https://example.com/avatars/a.png",
      mediaType: 2,
      scene: 1,
    });
    expect(result).toEqual({ traceId: "trace-media-1" });
    const [request] = fake.requests(PATHS.mediaCheckAsync);
    expect(request?.query.get("access_token")).toBe("token-1");
    expect(request?.body).toEqual({
      media_url: "https://example.com/avatars/a.png",
      media_type: 2,
      version: 2,
      scene: 1,
      openid: "o-user",
    });
  });

  it("retries once with a fresh token after 42001", async () => {
    fake.on(
      PATHS.mediaCheckAsync,
      sequence([wechatError(42001, "access_token expired")], (_request, response) =>
        send(response, { errcode: 0, errmsg: "ok", trace_id: "trace-2" }),
      ),
    );
    const { client } = clientOf(fake);
    const input = { openid: "o", mediaUrl: "https://x/a.png", mediaType: 2, scene: 1 } as const;
    expect(await client.mediaCheckAsync(input)).toEqual({ traceId: "trace-2" });
    expect(fake.count(PATHS.stableToken)).toBe(2);
  });
});

describe("two apps on one store", () => {
  const OTHER_APPID = "wx-other-appid";

  it("keep one access token each, and a 40001 on one never invalidates the other's", async () => {
    const store = newStore();
    const first = clientOf(fake, { store }).client;
    const second = clientOf(fake, { store, appid: OTHER_APPID, secret: "other-secret" }).client;
    await first.msgSecCheck({ openid: "o1", content: "x", scene: 1 });
    await second.msgSecCheck({ openid: "o2", content: "x", scene: 1 });
    expect(await store.get(`wxauth:wechat:${FAKE_APPID}:access_token`)).toContain("token-1");
    expect(await store.get(`wxauth:wechat:${OTHER_APPID}:access_token`)).toContain("token-2");
    expect(
      fake.requests(PATHS.stableToken).map((r) => (r.body as { appid: string }).appid),
    ).toEqual([FAKE_APPID, OTHER_APPID]);

    // WeChat rejects the first app's token: only that app fetches a new one.
    fake.validTokens.delete("token-1");
    await first.msgSecCheck({ openid: "o1", content: "x", scene: 1 });
    await second.msgSecCheck({ openid: "o2", content: "x", scene: 1 });
    expect(fake.requests(PATHS.msgSecCheck).map((r) => r.query.get("access_token"))).toEqual([
      "token-1",
      "token-2",
      "token-1",
      "token-3",
      "token-2",
    ]);
    expect(await store.get(`wxauth:wechat:${OTHER_APPID}:access_token`)).toContain("token-2");
    expect(fake.count(PATHS.stableToken)).toBe(3);
  });
});
