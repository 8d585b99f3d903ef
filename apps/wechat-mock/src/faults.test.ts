import { describe, expect, it } from "vitest";
import type { SandboxFailRequest } from "@wxauth/contracts/sandbox";
import { SANDBOX_APPID, SANDBOX_SECRET } from "./index.js";
import {
  exchangeQuery,
  expectErrcode,
  testSandbox,
  tokenQuery,
  type TestSandbox,
} from "./testing/helpers.js";

async function arm(sandbox: TestSandbox, fault: SandboxFailRequest): Promise<void> {
  const res = await sandbox.post("/__dev/fail", fault);
  expect(res.status).toBe(200);
}

async function stableTokenResponse(sandbox: TestSandbox, signal?: AbortSignal) {
  return sandbox.post(
    "/cgi-bin/stable_token",
    {
      grant_type: "client_credential",
      appid: SANDBOX_APPID,
      secret: SANDBOX_SECRET,
    },
    { signal },
  );
}

describe("POST /__dev/fail", () => {
  it("answers a numeric errcode as WeChat would, for `times` calls, then recovers", async () => {
    const sandbox = await testSandbox();
    await arm(sandbox, { api: "stable_token", errcode: -1, times: 2 });
    expectErrcode(await sandbox.stableToken(), -1);
    expectErrcode(await sandbox.stableToken(), -1);
    expect(await sandbox.stableToken()).toHaveProperty("access_token");
  });

  it("keeps jscode2session's text/plain on an injected errcode and does not consume the code", async () => {
    const sandbox = await testSandbox();
    const { code, openid } = await sandbox.loginCode();
    await arm(sandbox, { api: "jscode2session", errcode: 45011 });
    const res = await sandbox.get(`/sns/jscode2session?${exchangeQuery(code)}`);
    expect(res.headers.get("content-type")).toBe("text/plain");
    expectErrcode(JSON.parse(await res.text()), 45011);
    expect(await sandbox.exchange(code)).toMatchObject({ openid });
  });

  it("touches only the api it names", async () => {
    const sandbox = await testSandbox();
    await arm(sandbox, { api: "token", errcode: 40164 });
    expect(await sandbox.stableToken()).toHaveProperty("access_token");
  });

  it('"http500" answers a 5xx HTML page', async () => {
    const sandbox = await testSandbox();
    await arm(sandbox, { api: "stable_token", errcode: "http500" });
    const res = await stableTokenResponse(sandbox);
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await res.text()).toMatch(/<html>/);
  });

  it('"html" answers HTTP 200 with an HTML error page', async () => {
    const sandbox = await testSandbox();
    await arm(sandbox, { api: "stable_token", errcode: "html" });
    const res = await stableTokenResponse(sandbox);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    await expect(res.json()).rejects.toThrow();
  });

  it('"truncated" answers HTTP 200 with JSON cut off mid-body', async () => {
    const sandbox = await testSandbox();
    await arm(sandbox, { api: "getuserphonenumber", errcode: "truncated" });
    const res = await sandbox.post("/wxa/business/getuserphonenumber?access_token=x", {
      code: "c",
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.startsWith("{")).toBe(true);
    expect(() => JSON.parse(text) as unknown).toThrow();
  });

  it('"timeout" holds the request until the client gives up, then serves the next call', async () => {
    const sandbox = await testSandbox();
    await arm(sandbox, { api: "stable_token", errcode: "timeout" });
    const started = performance.now();
    await expect(stableTokenResponse(sandbox, AbortSignal.timeout(300))).rejects.toThrow();
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(await sandbox.stableToken()).toHaveProperty("access_token");
    await expect.poll(() => sandbox.logs.some((line) => / errcode=timeout /.test(line))).toBe(true);
  });

  it("close() does not wait for held requests", async () => {
    const sandbox = await testSandbox();
    await arm(sandbox, { api: "stable_token", errcode: "timeout" });
    const held = stableTokenResponse(sandbox).catch((error: unknown) => error);
    await expect.poll(() => sandbox.stats().calls.stable_token).toBe(1);
    const started = performance.now();
    await sandbox.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await held).toBeInstanceOf(Error);
  });

  it("delayMs alone slows `times` calls without failing them", async () => {
    const sandbox = await testSandbox();
    await arm(sandbox, { api: "stable_token", delayMs: 600, times: 1 });
    let started = performance.now();
    expect(await sandbox.stableToken()).toHaveProperty("access_token");
    expect(performance.now() - started).toBeGreaterThanOrEqual(590);
    started = performance.now();
    expect(await sandbox.stableToken()).toHaveProperty("access_token");
    expect(performance.now() - started).toBeLessThan(500);
  });

  it("drops a delayed call whose client gave up, leaving its code usable for the retry", async () => {
    const sandbox = await testSandbox();
    const { code, openid } = await sandbox.loginCode();
    await arm(sandbox, { api: "jscode2session", delayMs: 400 });
    await expect(
      sandbox.get(`/sns/jscode2session?${exchangeQuery(code)}`, {
        signal: AbortSignal.timeout(100),
      }),
    ).rejects.toThrow();
    await expect
      .poll(() => sandbox.logs.some((line) => / errcode=abandoned /.test(line)))
      .toBe(true);
    expect(await sandbox.exchange(code)).toMatchObject({ openid });
  });

  it("delayMs combines with an errcode", async () => {
    const sandbox = await testSandbox();
    await arm(sandbox, { api: "token", errcode: -1, delayMs: 150 });
    const started = performance.now();
    expectErrcode(await sandbox.getJson(`/cgi-bin/token?${tokenQuery()}`), -1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("counts failed calls in the stats", async () => {
    const sandbox = await testSandbox();
    await arm(sandbox, { api: "stable_token", errcode: "http500", times: 3 });
    for (let call = 0; call < 4; call += 1) await stableTokenResponse(sandbox);
    expect(sandbox.stats().calls.stable_token).toBe(4);
  });

  it.each([
    [{ api: "login", errcode: -1 }, /api/],
    [{ api: "token" }, /errcode, delayMs/],
    [{ api: "token", errcode: "boom" }, /errcode/],
    [{ api: "token", errcode: -1, times: 0 }, /times/],
    [{ api: "token", delayMs: 500_000 }, /delayMs/],
  ])("rejects %j with a readable 400", async (body, message) => {
    const sandbox = await testSandbox();
    const res = await sandbox.post("/__dev/fail", body);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: string };
    expect(error).toMatch(message);
  });
});
