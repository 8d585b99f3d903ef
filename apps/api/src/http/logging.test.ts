import { maskPhone } from "@wxauth/contracts";
import { Sealer } from "@wxauth/wechat";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AT_REST_LABELS } from "../auth/at-rest-cipher.js";
import { startTestApi, uniquePhoneNumber, type TestApi } from "../testing/harness.js";

let api: TestApi;
beforeAll(async () => {
  // trace: the most the API ever writes, including the WeChat client's debug lines.
  api = await startTestApi({ captureLogs: "trace" });
});
afterAll(() => api.close());

describe("logs", () => {
  it("a full register flow logs no clear phone, token, code, ticket or session_key", async () => {
    const phoneNumber = uniquePhoneNumber();
    const { code: loginCode, openid } = await api.loginCode();
    const login = await api.login(loginCode);
    if (login.status !== "registration_required") throw new Error("expected a ticket");
    const phoneCode = await api.phoneCode(phoneNumber, openid);
    const registered = await api.request("POST", "/api/auth/wechat/register", {
      body: { registrationTicket: login.registrationTicket, phoneCode },
    });
    expect(registered.status).toBe(201);
    const session = registered.body as { accessToken: string; refreshToken: string };
    await api.request("GET", "/api/me", { token: session.accessToken });
    const refreshed = await api.request("POST", "/api/auth/refresh", {
      body: { refreshToken: session.refreshToken },
    });
    await api.request("POST", "/api/auth/logout", {
      body: { refreshToken: (refreshed.body as { refreshToken: string }).refreshToken },
    });
    // A failing call too: error paths log more.
    await api.request("POST", "/api/auth/wechat/register", {
      body: { registrationTicket: login.registrationTicket, phoneCode },
    });

    const sessionKeyRow = await api.deps.data.wechatSessionKeys.find(
      api.deps.apps.primary.appid,
      openid,
    );
    const sessionKey = new Sealer(api.config.dataKeys, AT_REST_LABELS.wechatSessionKey).open(
      sessionKeyRow!.sessionKeyCiphertext,
    );
    const output = api.logs.join("\n");
    expect(api.logs.length).toBeGreaterThan(5);
    for (const secret of [
      phoneNumber,
      loginCode,
      phoneCode,
      login.registrationTicket,
      session.accessToken,
      session.refreshToken,
      (refreshed.body as { refreshToken: string }).refreshToken,
      ...api.config.wechat.apps.map((app) => app.secret),
      api.config.jwt.secret,
      sessionKey,
    ]) {
      expect(secret.length).toBeGreaterThan(5);
      expect(output).not.toContain(secret);
    }
    expect(output).not.toMatch(/session_?key"\s*:\s*"(?!\[Redacted\])/i);
    // Each request is logged as one line with its id, method, path and status.
    const lines = api.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    const requests = lines.filter((line) => line.res !== undefined);
    expect(requests.length).toBeGreaterThanOrEqual(6);
    for (const line of requests) {
      expect(line).toMatchObject({
        req: { id: expect.any(String), method: expect.any(String), remoteAddress: "127.0.0.1" },
        res: { statusCode: expect.any(Number) },
      });
      expect(JSON.stringify(line.req)).not.toMatch(/headers|authorization/i);
    }
  });

  it("masks phone numbers the API itself logs", () => {
    api.deps.logger.info({ phone: "+8613800138000", user: { phone: "+8613912345678" } }, "probe");
    const line = [...api.logs].reverse().find((entry) => entry.includes('"probe"')) ?? "";
    expect(line).toContain(maskPhone("+8613800138000"));
    expect(line).toContain("139****5678");
    expect(line).not.toContain("13800138000");
  });

  it("a misconfigured deployment (WeChat 40013) is logged loudly, at error level", async () => {
    const { code } = await api.loginCode();
    await api.fail({ api: "jscode2session", errcode: 40013, times: 5 });
    const result = await api.request("POST", "/api/auth/wechat/login", { body: { code } });
    expect(result.status).toBe(503);
    const alarm = api.logs
      .map((line) => JSON.parse(line) as { level: number; msg?: string })
      .find((line) => line.level >= 50 && /operator action needed/.test(line.msg ?? ""));
    expect(alarm).toBeDefined();
    // The request's own line is at error level too, with what it failed on.
    const requestLine = api.logs
      .map((line) => JSON.parse(line) as { res?: { statusCode?: number } })
      .find((line) => line.res?.statusCode === 503);
    expect(requestLine).toMatchObject({
      level: 50,
      msg: "request errored",
      req: { method: "POST", path: "/api/auth/wechat/login" },
      err: { type: "WechatApiError" },
      responseTime: expect.any(Number),
    });
    expect(api.logs.join("\n")).not.toContain(code);
  });
});
