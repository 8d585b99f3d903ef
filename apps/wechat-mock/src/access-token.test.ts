import { describe, expect, it } from "vitest";
import {
  ACCESS_TOKEN_TTL_S,
  REPLACED_TOKEN_GRACE_MS,
  SANDBOX_APPID,
  SANDBOX_SECRET,
} from "./index.js";
import { expectErrcode, testSandbox, tokenQuery, type TestSandbox } from "./testing/helpers.js";

/** A token works when getuserphonenumber gets past the token check to the (unknown) code. */
async function tokenErrcode(sandbox: TestSandbox, accessToken: unknown): Promise<unknown> {
  const answer = await sandbox.phoneNumber(String(accessToken), { code: "unknown-phone-code" });
  return answer.errcode === 40029 ? "valid" : answer.errcode;
}

describe("POST /cgi-bin/stable_token", () => {
  it("issues a token for 7200 s as application/json", async () => {
    const sandbox = await testSandbox();
    const res = await sandbox.post("/cgi-bin/stable_token", {
      grant_type: "client_credential",
      appid: SANDBOX_APPID,
      secret: SANDBOX_SECRET,
    });
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({ access_token: expect.any(String), expires_in: ACCESS_TOKEN_TTL_S });
    expect(await tokenErrcode(sandbox, body.access_token)).toBe("valid");
  });

  it("returns the current token with its remaining lifetime until force_refresh", async () => {
    const sandbox = await testSandbox();
    const first = await sandbox.stableToken();
    sandbox.clock.advance(600_000);
    const again = await sandbox.stableToken(false);
    expect(again).toEqual({
      access_token: first.access_token,
      expires_in: ACCESS_TOKEN_TTL_S - 600,
    });

    const refreshed = await sandbox.stableToken(true);
    expect(refreshed.access_token).not.toBe(first.access_token);
    expect(refreshed.expires_in).toBe(ACCESS_TOKEN_TTL_S);
    expect(await sandbox.stableToken()).toMatchObject({ access_token: refreshed.access_token });

    // WeChat: force_refresh "会导致上次获取的 access_token 失效" — the old token stops at once.
    expect(await tokenErrcode(sandbox, first.access_token)).toBe(40001);
    expect(await tokenErrcode(sandbox, refreshed.access_token)).toBe("valid");
  });

  it("issues a new token once the current one expired, and the old one answers 42001", async () => {
    const sandbox = await testSandbox();
    const first = await sandbox.stableToken();
    sandbox.clock.advance(ACCESS_TOKEN_TTL_S * 1000);
    expect(await tokenErrcode(sandbox, first.access_token)).toBe(42001);
    const next = await sandbox.stableToken();
    expect(next).toMatchObject({ expires_in: ACCESS_TOKEN_TTL_S });
    expect(next.access_token).not.toBe(first.access_token);
    expect(await tokenErrcode(sandbox, first.access_token)).toBe(42001);
  });

  it.each([
    ["wrong appid", { appid: "wx0000000000000000" }, 40013],
    ["wrong secret", { secret: "nope" }, 40125],
    ["wrong grant_type", { grant_type: "authorization_code" }, 40002],
  ])("answers %s with its errcode", async (_name, overrides, errcode) => {
    const sandbox = await testSandbox();
    expectErrcode(
      await sandbox.postJson("/cgi-bin/stable_token", {
        grant_type: "client_credential",
        appid: SANDBOX_APPID,
        secret: SANDBOX_SECRET,
        ...overrides,
      }),
      errcode,
    );
  });

  it("answers 47001 to a body that is not JSON, and 43002 to a GET", async () => {
    const sandbox = await testSandbox();
    expectErrcode(await sandbox.postJson("/cgi-bin/stable_token", "{not json"), 47001);
    expectErrcode(await sandbox.getJson(`/cgi-bin/stable_token?${tokenQuery()}`), 43002);
  });
});

describe("GET /cgi-bin/token", () => {
  it("issues a new token on every call; the previous one overlaps for 5 minutes", async () => {
    const sandbox = await testSandbox();
    const first = await sandbox.getJson(`/cgi-bin/token?${tokenQuery()}`);
    const second = await sandbox.getJson(`/cgi-bin/token?${tokenQuery()}`);
    expect(first).toEqual({ access_token: expect.any(String), expires_in: ACCESS_TOKEN_TTL_S });
    expect(second.access_token).not.toBe(first.access_token);

    sandbox.clock.advance(REPLACED_TOKEN_GRACE_MS - 1);
    expect(await tokenErrcode(sandbox, first.access_token)).toBe("valid");
    sandbox.clock.advance(1);
    expect(await tokenErrcode(sandbox, first.access_token)).toBe(40001);
    expect(await tokenErrcode(sandbox, second.access_token)).toBe("valid");
  });

  it("keeps its tokens apart from stable_token's, as WeChat does", async () => {
    const sandbox = await testSandbox();
    const stable = await sandbox.stableToken();
    await sandbox.getJson(`/cgi-bin/token?${tokenQuery()}`);
    expect(await sandbox.stableToken()).toMatchObject({ access_token: stable.access_token });
    sandbox.clock.advance(REPLACED_TOKEN_GRACE_MS + 1);
    expect(await tokenErrcode(sandbox, stable.access_token)).toBe("valid");
  });

  it.each([
    ["wrong appid", { appid: "wx0000000000000000" }, 40013],
    ["wrong secret", { secret: "nope" }, 40125],
    ["missing secret", { secret: "" }, 41004],
  ])("answers %s with its errcode", async (_name, overrides, errcode) => {
    const sandbox = await testSandbox();
    expectErrcode(await sandbox.getJson(`/cgi-bin/token?${tokenQuery(overrides)}`), errcode);
  });
});
