import { describe, expect, it } from "vitest";
import { SandboxStatsSchema } from "@wxauth/contracts/sandbox";
import { SANDBOX_APPID, SANDBOX_SECRET } from "./index.js";
import { expectErrcode, testSandbox } from "./testing/helpers.js";

describe("dev controls", () => {
  it("GET /__dev/stats counts calls per api, matching the contract", async () => {
    const sandbox = await testSandbox();
    const { code } = await sandbox.loginCode();
    await sandbox.exchange(code);
    await sandbox.exchange(code);
    const { access_token: accessToken } = await sandbox.stableToken();
    await sandbox.phoneNumber(String(accessToken), { code: "unknown" });
    const stats = SandboxStatsSchema.parse(await sandbox.getJson("/__dev/stats"));
    expect(stats).toEqual({
      calls: {
        jscode2session: 2,
        stable_token: 1,
        token: 0,
        getuserphonenumber: 1,
        msg_sec_check: 0,
        media_check_async: 0,
      },
    });
    expect(sandbox.stats()).toEqual(stats);
  });

  it("POST /__dev/reset forgets codes, tokens, faults and stats", async () => {
    const sandbox = await testSandbox();
    const { code } = await sandbox.loginCode();
    const phoneCode = await sandbox.phoneCode({ phoneNumber: "13800138000" });
    const { access_token: accessToken } = await sandbox.stableToken();
    await sandbox.post("/__dev/fail", { api: "jscode2session", errcode: -1 });

    const res = await sandbox.post("/__dev/reset", {});
    expect(res.status).toBe(200);

    expect(sandbox.stats().calls).toEqual({
      jscode2session: 0,
      stable_token: 0,
      token: 0,
      getuserphonenumber: 0,
      msg_sec_check: 0,
      media_check_async: 0,
    });
    expectErrcode(await sandbox.exchange(code), 40029);
    expectErrcode(await sandbox.phoneNumber(String(accessToken), { code: phoneCode }), 40001);
    const fresh = await sandbox.stableToken();
    expectErrcode(
      await sandbox.phoneNumber(String(fresh.access_token), { code: phoneCode }),
      40029,
    );
  });

  it("reset() on the handle does the same", async () => {
    const sandbox = await testSandbox();
    const { code } = await sandbox.loginCode();
    sandbox.reset();
    expectErrcode(await sandbox.exchange(code), 40029);
  });

  it.each([
    ["/__dev/login-code", { openid: "" }, /openid/],
    ["/__dev/login-code", { unionid: 42 }, /unionid/],
    [
      "/__dev/phone-code",
      { phoneNumber: "138-0013" },
      /phoneNumber: digits of the national number/,
    ],
    ["/__dev/phone-code", {}, /phoneNumber/],
    ["/__dev/phone-code", { phoneNumber: "13800138000", countryCode: "+86" }, /countryCode/],
    ["/__dev/login-code", "{oops", /not valid JSON/],
  ])("%s rejects %j with a readable 400", async (path, body, message) => {
    const sandbox = await testSandbox();
    const res = await sandbox.post(path, body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(message);
  });

  it("accepts an empty body where every field is optional", async () => {
    const sandbox = await testSandbox();
    const res = await sandbox.post("/__dev/login-code", "");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      code: expect.any(String),
      openid: expect.any(String),
      appid: SANDBOX_APPID,
    });
  });

  it("answers an oversized body with 413 on /__dev and 47001 on WeChat endpoints", async () => {
    const sandbox = await testSandbox();
    const huge = JSON.stringify({ openid: "o".repeat(100_000) });
    const dev = await sandbox.post("/__dev/login-code", huge);
    expect(dev.status).toBe(413);
    expect(await dev.json()).toEqual({ error: expect.stringMatching(/larger than/) });
    expectErrcode(await sandbox.postJson("/cgi-bin/stable_token", huge), 47001);
  });

  it("answers 405 to the wrong method and 404 to an unknown control", async () => {
    const sandbox = await testSandbox();
    expect((await sandbox.get("/__dev/login-code")).status).toBe(405);
    expect((await sandbox.post("/__dev/stats", {})).status).toBe(405);
    expect((await sandbox.get("/__dev/nothing")).status).toBe(404);
  });

  describe("CORS", () => {
    it("answers preflight on /__dev/* for any origin", async () => {
      const sandbox = await testSandbox();
      const res = await sandbox.get("/__dev/login-code", {
        method: "OPTIONS",
        headers: {
          origin: "http://localhost:5173",
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      expect(res.headers.get("access-control-allow-methods")).toContain("POST");
      expect(res.headers.get("access-control-allow-headers")).toContain("content-type");
    });

    it("marks /__dev/* answers, errors included, as readable from any origin", async () => {
      const sandbox = await testSandbox();
      const ok = await sandbox.post("/__dev/login-code", {}, { headers: { origin: "http://x" } });
      expect(ok.headers.get("access-control-allow-origin")).toBe("*");
      const bad = await sandbox.post("/__dev/phone-code", {});
      expect(bad.status).toBe(400);
      expect(bad.headers.get("access-control-allow-origin")).toBe("*");
    });

    it("leaves the WeChat endpoints without CORS, as WeChat does", async () => {
      const sandbox = await testSandbox();
      const res = await sandbox.post("/cgi-bin/stable_token", {});
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      const preflight = await sandbox.get("/cgi-bin/stable_token", { method: "OPTIONS" });
      expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    });
  });

  describe("logging", () => {
    it("writes one line per call and never the secret, codes, tokens or session keys", async () => {
      const sandbox = await testSandbox();
      const { code } = await sandbox.loginCode({ openid: "oLogged" });
      const exchanged = await sandbox.exchange(code);
      const { access_token: accessToken } = await sandbox.stableToken();
      const phoneCode = await sandbox.phoneCode({ phoneNumber: "13800138000" });
      await sandbox.phoneNumber(String(accessToken), { code: phoneCode });

      expect(sandbox.logs).toHaveLength(5);
      expect(sandbox.logs[1]).toMatch(
        /^GET \/sns\/jscode2session api=jscode2session code=.{4}… errcode=0 \d+\.\dms$/,
      );
      const everything = sandbox.logs.join("\n");
      for (const secret of [
        SANDBOX_SECRET,
        code,
        String(exchanged.session_key),
        String(accessToken),
        phoneCode,
        "13800138000",
      ]) {
        expect(everything).not.toContain(secret);
      }
    });
  });
});
