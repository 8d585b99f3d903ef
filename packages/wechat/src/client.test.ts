import type { ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import type { FakeWechat } from "./testing/fake-wechat.js";
import {
  FAKE_APPID,
  FAKE_SECRET,
  PATHS,
  closedPort,
  delayed,
  hang,
  phoneReply,
  send,
  sequence,
  code2SessionReply,
  wechatError,
} from "./testing/fake-wechat.js";
import type { WechatClient } from "./index.js";
import { clientOf, failureOf, freshCode, timeoutOf, useFakeWechat } from "./testing/helpers.js";

let fake: FakeWechat;
useFakeWechat((started) => (fake = started));

describe("code2Session", () => {
  it("parses WeChat's text/plain JSON reply and sends appid, secret, code and grant type", async () => {
    const { client } = clientOf(fake);
    const code = freshCode();
    const result = await client.code2Session(code);
    expect(result).toEqual({
      openid: `openid-${code}`,
      unionid: `unionid-${code}`,
      sessionKey: `session-key-${code}`,
    });
    const [request] = fake.requests(PATHS.jscode2session);
    expect(request?.method).toBe("GET");
    expect(Object.fromEntries(request?.query ?? [])).toEqual({
      appid: FAKE_APPID,
      secret: FAKE_SECRET,
      js_code: code,
      grant_type: "authorization_code",
    });
  });

  it("gives unionid null when WeChat sends none", async () => {
    fake.on(PATHS.jscode2session, (_request, response) =>
      send(response, { openid: "o1", session_key: "sk1" }, { contentType: "text/plain" }),
    );
    const { client } = clientOf(fake);
    expect(await client.code2Session(freshCode())).toEqual({
      openid: "o1",
      unionid: null,
      sessionKey: "sk1",
    });
  });

  it.each([
    [40029, "invalid code"],
    [40163, "code been used"],
    [40226, "high risk user"],
  ])(
    "errcode %i is a definitive, non-retryable wechat error, asked once",
    async (errcode, errmsg) => {
      fake.on(PATHS.jscode2session, wechatError(errcode, errmsg));
      const { client } = clientOf(fake);
      const error = await failureOf(client.code2Session(freshCode()));
      expect(error).toMatchObject({
        api: "jscode2session",
        kind: "wechat",
        errcode,
        retryable: false,
        rid: "6123abcd-0a1b2c3d-4e5f6a7b",
      });
      expect(error.errmsg).toContain(errmsg);
      expect(fake.count(PATHS.jscode2session)).toBe(1);
    },
  );

  it("45011 (rate limited) is retryable but not retried at once", async () => {
    fake.on(PATHS.jscode2session, wechatError(45011, "api minute-quota reach limit"));
    const { client } = clientOf(fake);
    const error = await failureOf(client.code2Session(freshCode()));
    expect(error).toMatchObject({ kind: "wechat", errcode: 45011, retryable: true });
    expect(fake.count(PATHS.jscode2session)).toBe(1);
  });

  it.each([40013, 40125, 40164, 45009, 41002, 41004, 40002])(
    "configuration errcode %i is kind config, not retried, logged at error",
    async (errcode) => {
      fake.on(PATHS.jscode2session, wechatError(errcode));
      const { client, logs } = clientOf(fake);
      const error = await failureOf(client.code2Session(freshCode()));
      expect(error).toMatchObject({ kind: "config", errcode, retryable: false });
      expect(fake.count(PATHS.jscode2session)).toBe(1);
      expect(logs.filter((line) => line.level === "error")).toHaveLength(1);
      expect(logs.find((line) => line.level === "error")?.obj).toMatchObject({
        api: "jscode2session",
        errcode,
        rid: "6123abcd-0a1b2c3d-4e5f6a7b",
      });
    },
  );

  it("retries errcode -1 and succeeds", async () => {
    fake.on(
      PATHS.jscode2session,
      sequence([wechatError(-1, "system error"), wechatError(-1)], code2SessionReply("o2")),
    );
    const { client } = clientOf(fake, { retries: 2 });
    expect((await client.code2Session(freshCode())).openid).toBe("o2");
    expect(fake.count(PATHS.jscode2session)).toBe(3);
  });

  it("gives up on -1 after `retries` extra attempts with a retryable error, within budget", async () => {
    fake.on(PATHS.jscode2session, wechatError(-1, "system error"));
    const { client } = clientOf(fake, { retries: 3, timeoutMs: 3000 });
    const started = performance.now();
    const error = await failureOf(client.code2Session(freshCode()));
    expect(performance.now() - started).toBeLessThan(3000);
    expect(error).toMatchObject({ kind: "wechat", errcode: -1, retryable: true });
    expect(fake.count(PATHS.jscode2session)).toBe(4);
  });

  it.each([
    [
      "HTTP 502",
      (response: ServerResponse) =>
        send(response, "Bad Gateway", { status: 502, contentType: "text/plain" }),
      "http",
    ],
    [
      "an HTML error page",
      (response: ServerResponse) =>
        send(response, "<html><body>502</body></html>", { contentType: "text/html" }),
      "parse",
    ],
    [
      "truncated JSON",
      (response: ServerResponse) =>
        send(response, '{"openid":"o3","session_ke', { contentType: "text/plain" }),
      "parse",
    ],
  ] as const)("retries %s, then succeeds", async (_name, failure, kind) => {
    fake.on(
      PATHS.jscode2session,
      sequence([(_request, response) => failure(response)], code2SessionReply("o3")),
    );
    const { client } = clientOf(fake);
    expect((await client.code2Session(freshCode())).openid).toBe("o3");
    expect(fake.count(PATHS.jscode2session)).toBe(2);

    fake.on(PATHS.jscode2session, (_request, response) => failure(response));
    const error = await failureOf(client.code2Session(freshCode()));
    expect(error).toMatchObject({ kind, errcode: -1, retryable: true });
    expect(fake.count(PATHS.jscode2session)).toBe(2 + 3);
  });

  it("a reply of the wrong shape is a non-retryable parse error, not retried", async () => {
    fake.on(PATHS.jscode2session, (_request, response) => send(response, { openid: 42 }));
    const { client } = clientOf(fake);
    const error = await failureOf(client.code2Session(freshCode()));
    expect(error).toMatchObject({ kind: "parse", retryable: false });
    expect(fake.count(PATHS.jscode2session)).toBe(1);
  });

  it("respects the whole-call budget when WeChat never answers", async () => {
    fake.on(PATHS.jscode2session, hang);
    const { client } = clientOf(fake, { timeoutMs: 300, retries: 5 });
    await timeoutOf(client.code2Session(freshCode()), 300);
    // The only attempt used the whole budget: no retry after it.
    expect(fake.count(PATHS.jscode2session)).toBe(1);
  });

  it("counts retries against the same budget: slow failures end in a timeout, not 3 x the budget", async () => {
    fake.on(PATHS.jscode2session, delayed(150, wechatError(-1)));
    const { client } = clientOf(fake, { timeoutMs: 400, retries: 10 });
    const started = performance.now();
    const error = await failureOf(client.code2Session(freshCode()));
    expect(performance.now() - started).toBeLessThan(400 + 150);
    expect(error.retryable).toBe(true);
    expect(fake.count(PATHS.jscode2session)).toBeLessThanOrEqual(3);
  });

  it("retries a refused connection, then fails as a retryable network error", async () => {
    const port = await closedPort();
    const { client } = clientOf(fake, { baseUrl: `http://127.0.0.1:${port}`, retries: 2 });
    const started = performance.now();
    const error = await failureOf(client.code2Session(freshCode()));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(error).toMatchObject({ kind: "network", errcode: -1, retryable: true });
    expect(error.errmsg).toBe("network error: ECONNREFUSED");
  });
});

describe("a code that is not well-formed UTF-16 (a lone surrogate)", () => {
  // It has no UTF-8 form: encodeURIComponent throws a URIError on it, which must never escape.
  it.each([
    ["code2Session", (client: WechatClient) => client.code2Session("abc\ud800")],
    ["getPhoneNumber", (client: WechatClient) => client.getPhoneNumber("\udc00abc", "openid-1")],
  ])("%s refuses it as an invalid code, without calling WeChat", async (_name, call) => {
    const { client } = clientOf(fake);
    const error = await failureOf(call(client));
    expect(error).toMatchObject({ kind: "wechat", errcode: 40029, retryable: false });
    expect(error.errmsg).toContain("not well-formed");
    for (const path of Object.values(PATHS)) expect(fake.count(path), path).toBe(0);
  });

  it("a well-formed surrogate pair is an ordinary code", async () => {
    const { client } = clientOf(fake);
    const code = `${freshCode()}-\u{1F600}`;
    expect((await client.code2Session(code)).openid).toBe(`openid-${code}`);
  });
});

describe("getPhoneNumber", () => {
  it("posts { code, openid } with the access token and returns the E.164 number", async () => {
    const { client } = clientOf(fake);
    const phone = await client.getPhoneNumber("phone-code-1", "openid-1");
    expect(phone).toEqual({
      e164: "+8613800138000",
      purePhoneNumber: "13800138000",
      countryCode: "86",
    });
    const [request] = fake.requests(PATHS.phone);
    expect(request?.method).toBe("POST");
    expect(request?.body).toEqual({ code: "phone-code-1", openid: "openid-1" });
    expect(request?.query.get("access_token")).toBe("token-1");
  });

  it("accepts countryCode as a number", async () => {
    fake.on(PATHS.phone, phoneReply({ countryCode: 852, purePhoneNumber: "51234567" }, fake));
    const { client } = clientOf(fake);
    expect(await client.getPhoneNumber("phone-code-2", "openid-1")).toEqual({
      e164: "+85251234567",
      purePhoneNumber: "51234567",
      countryCode: "852",
    });
  });

  it("rejects a number that is not E.164 as a parse error", async () => {
    fake.on(PATHS.phone, phoneReply({ countryCode: "86", purePhoneNumber: "12" }, fake));
    const { client } = clientOf(fake);
    const error = await failureOf(client.getPhoneNumber("phone-code-3", "openid-1"));
    expect(error).toMatchObject({ api: "getuserphonenumber", kind: "parse", retryable: false });
  });

  it("rejects a watermark of another appid as a logged parse error", async () => {
    fake.on(
      PATHS.phone,
      phoneReply({ countryCode: "86", purePhoneNumber: "13800138000", appid: "wx-other" }, fake),
    );
    const { client, logs } = clientOf(fake);
    const error = await failureOf(client.getPhoneNumber("phone-code-4", "openid-1"));
    expect(error).toMatchObject({ kind: "parse", retryable: false });
    expect(error.errmsg).toContain("watermark");
    expect(logs.some((line) => line.level === "error")).toBe(true);
  });

  it("never puts the secret, codes, tokens or session keys in logs or error messages", async () => {
    const { client, logs } = clientOf(fake, { retries: 1 });
    const code = freshCode();
    await client.code2Session(code);
    await client.getPhoneNumber("phone-code-secret", "openid-1");
    fake.on(PATHS.jscode2session, (request, response) =>
      // A hostile errmsg that echoes what it was sent.
      send(response, {
        errcode: -1,
        errmsg: `busy ${request.query.get("secret")} ${request.query.get("js_code")}`,
      }),
    );
    const failedCode = freshCode();
    const error = await failureOf(client.code2Session(failedCode));
    const everything = JSON.stringify(logs) + error.message + error.errmsg;
    for (const secret of [
      FAKE_SECRET,
      code,
      failedCode,
      `session-key-${code}`,
      "token-1",
      "phone-code-secret",
    ]) {
      expect(everything).not.toContain(secret);
    }
    expect(logs.filter((line) => line.level === "info")).toHaveLength(0);
  });
});
