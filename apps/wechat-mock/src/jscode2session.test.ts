import { describe, expect, it } from "vitest";
import { CODE_TTL_MS, DEVTOOLS_OPENID } from "./index.js";
import { exchangeQuery, expectErrcode, testSandbox } from "./testing/helpers.js";

describe("GET /sns/jscode2session", () => {
  it("exchanges a minted code for openid and a 16-byte session_key, as text/plain JSON", async () => {
    const sandbox = await testSandbox();
    const { code, openid } = await sandbox.loginCode({ openid: "oUser1" });
    const res = await sandbox.get(`/sns/jscode2session?${exchangeQuery(code)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain");
    const reply = JSON.parse(await res.text()) as Record<string, string>;
    expect(reply.openid).toBe(openid);
    expect(Buffer.from(reply.session_key ?? "", "base64")).toHaveLength(16);
    expect(reply).not.toHaveProperty("unionid");
    expect(reply).not.toHaveProperty("errcode");
  });

  it("answers errors as text/plain too", async () => {
    const sandbox = await testSandbox();
    const res = await sandbox.get(`/sns/jscode2session?${exchangeQuery("nope")}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain");
    expectErrcode(JSON.parse(await res.text()), 40029);
  });

  it("returns unionid only for codes minted with one", async () => {
    const sandbox = await testSandbox();
    const { code } = await sandbox.loginCode({ openid: "oUser2", unionid: "uUnion2" });
    expect(await sandbox.exchange(code)).toMatchObject({ openid: "oUser2", unionid: "uUnion2" });
  });

  it("mints a WeChat-shaped random openid when none is given", async () => {
    const sandbox = await testSandbox();
    const first = await sandbox.loginCode();
    const second = await sandbox.loginCode();
    expect(first.openid).toMatch(/^o[A-Za-z0-9_-]{27}$/);
    expect(second.openid).not.toBe(first.openid);
    expect(await sandbox.exchange(first.code)).toMatchObject({ openid: first.openid });
  });

  it("rotates the session_key with each exchange", async () => {
    const sandbox = await testSandbox();
    const first = await sandbox.exchange((await sandbox.loginCode({ openid: "oSame" })).code);
    const second = await sandbox.exchange((await sandbox.loginCode({ openid: "oSame" })).code);
    expect(second.openid).toBe(first.openid);
    expect(second.session_key).not.toBe(first.session_key);
  });

  it("accepts a code once: the second exchange is 40163", async () => {
    const sandbox = await testSandbox();
    const { code } = await sandbox.loginCode();
    expect(await sandbox.exchange(code)).toHaveProperty("openid");
    expectErrcode(await sandbox.exchange(code), 40163);
  });

  it("lets exactly one of several concurrent exchanges of a code win", async () => {
    const sandbox = await testSandbox();
    const { code } = await sandbox.loginCode();
    const answers = await Promise.all(Array.from({ length: 5 }, () => sandbox.exchange(code)));
    expect(answers.filter((answer) => "openid" in answer)).toHaveLength(1);
    expect(answers.filter((answer) => answer.errcode === 40163)).toHaveLength(4);
  });

  it("expires codes after 5 minutes with 40029", async () => {
    const sandbox = await testSandbox();
    const fresh = await sandbox.loginCode();
    const stale = await sandbox.loginCode();
    sandbox.clock.advance(CODE_TTL_MS);
    expect(await sandbox.exchange(fresh.code)).toHaveProperty("openid", fresh.openid);
    sandbox.clock.advance(1);
    expectErrcode(await sandbox.exchange(stale.code), 40029);
  });

  it("answers 40029 for a code it never minted", async () => {
    const sandbox = await testSandbox();
    expectErrcode(await sandbox.exchange("never-minted"), 40029);
  });

  it.each([
    ["wrong appid", { appid: "wx0000000000000000" }, 40013],
    ["missing appid", { appid: "" }, 41002],
    ["wrong secret", { secret: "not-the-secret" }, 40125],
    ["missing secret", { secret: "" }, 41004],
    ["missing js_code", { js_code: "" }, 41008],
    ["wrong grant_type", { grant_type: "client_credential" }, 40002],
  ])(
    "answers %s with its errcode and leaves the code unused",
    async (_name, overrides, errcode) => {
      const sandbox = await testSandbox();
      const { code } = await sandbox.loginCode();
      expectErrcode(await sandbox.exchange(code, overrides), errcode);
      expect(await sandbox.exchange(code)).toHaveProperty("openid");
    },
  );

  it("uses the appid and secret it was given", async () => {
    const sandbox = await testSandbox({ appid: "wxcustom", secret: "custom-secret" });
    const { code } = await sandbox.loginCode();
    expectErrcode(await sandbox.exchange(code), 40013);
    expectErrcode(await sandbox.exchange(code, { appid: "wxcustom" }), 40125);
    expect(
      await sandbox.exchange(code, { appid: "wxcustom", secret: "custom-secret" }),
    ).toHaveProperty("openid");
  });

  it("answers 43001 to a POST", async () => {
    const sandbox = await testSandbox();
    expectErrcode(await sandbox.postJson("/sns/jscode2session", {}), 43001);
  });

  describe("with acceptUnknownCodes", () => {
    it("maps never-minted codes to the fixed DevTools openid, still once per code", async () => {
      const sandbox = await testSandbox({ acceptUnknownCodes: true });
      expect(await sandbox.exchange("devtools-code-1")).toMatchObject({ openid: DEVTOOLS_OPENID });
      expect(await sandbox.exchange("devtools-code-2")).toMatchObject({ openid: DEVTOOLS_OPENID });
      expectErrcode(await sandbox.exchange("devtools-code-1"), 40163);
      expect(DEVTOOLS_OPENID).toMatch(/^oDevTools[A-Za-z0-9_-]{19}$/);
    });

    it("still serves minted codes as their own users and still checks credentials", async () => {
      const sandbox = await testSandbox({ acceptUnknownCodes: true });
      const { code, openid } = await sandbox.loginCode();
      expect(await sandbox.exchange(code)).toMatchObject({ openid });
      expectErrcode(await sandbox.exchange("devtools-code", { secret: "wrong" }), 40125);
    });
  });
});
