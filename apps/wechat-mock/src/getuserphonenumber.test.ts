import { describe, expect, it } from "vitest";
import { ACCESS_TOKEN_TTL_S, CODE_TTL_MS, SANDBOX_APPID } from "./index.js";
import { expectErrcode, testSandbox } from "./testing/helpers.js";

async function withToken(options: Parameters<typeof testSandbox>[0] = {}) {
  const sandbox = await testSandbox(options);
  const { access_token: accessToken } = await sandbox.stableToken();
  return { sandbox, accessToken: String(accessToken) };
}

describe("POST /wxa/business/getuserphonenumber", () => {
  it("answers a +86 phone code with the national number, a string countryCode and a watermark", async () => {
    const { sandbox, accessToken } = await withToken();
    const mintedAt = sandbox.clock.now();
    const code = await sandbox.phoneCode({ phoneNumber: "13800138000" });
    sandbox.clock.advance(30_000);
    const res = await sandbox.post(`/wxa/business/getuserphonenumber?access_token=${accessToken}`, {
      code,
    });
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      errcode: 0,
      errmsg: "ok",
      phone_info: {
        phoneNumber: "13800138000",
        purePhoneNumber: "13800138000",
        countryCode: "86",
        watermark: { timestamp: Math.floor(mintedAt / 1000), appid: SANDBOX_APPID },
      },
    });
  });

  it("prefixes other countries' numbers with +<cc> and keeps a numeric countryCode numeric", async () => {
    const { sandbox, accessToken } = await withToken();
    const hongKong = await sandbox.phoneCode({ phoneNumber: "51234567", countryCode: 852 });
    expect(await sandbox.phoneNumber(accessToken, { code: hongKong })).toMatchObject({
      phone_info: { phoneNumber: "+85251234567", purePhoneNumber: "51234567", countryCode: 852 },
    });
    const mainland = await sandbox.phoneCode({ phoneNumber: "13800138000", countryCode: 86 });
    expect(await sandbox.phoneNumber(accessToken, { code: mainland })).toMatchObject({
      phone_info: { phoneNumber: "13800138000", countryCode: 86 },
    });
  });

  it("takes a code once: the second use is 40029, as WeChat documents", async () => {
    const { sandbox, accessToken } = await withToken();
    const code = await sandbox.phoneCode({ phoneNumber: "13800138000" });
    expect(await sandbox.phoneNumber(accessToken, { code })).toMatchObject({ errcode: 0 });
    expectErrcode(await sandbox.phoneNumber(accessToken, { code }), 40029);
  });

  it("expires codes after 5 minutes with 40029", async () => {
    const { sandbox, accessToken } = await withToken();
    const fresh = await sandbox.phoneCode({ phoneNumber: "13800138000" });
    const stale = await sandbox.phoneCode({ phoneNumber: "13800138001" });
    sandbox.clock.advance(CODE_TTL_MS);
    expect(await sandbox.phoneNumber(accessToken, { code: fresh })).toMatchObject({ errcode: 0 });
    sandbox.clock.advance(1);
    expectErrcode(await sandbox.phoneNumber(accessToken, { code: stale }), 40029);
  });

  it("answers 40029 for an unknown code", async () => {
    const { sandbox, accessToken } = await withToken();
    expectErrcode(await sandbox.phoneNumber(accessToken, { code: "f".repeat(64) }), 40029);
  });

  it("binds a code minted for an openid to that openid, without burning it on a mismatch", async () => {
    const { sandbox, accessToken } = await withToken();
    const code = await sandbox.phoneCode({ phoneNumber: "13800138000", openid: "oOwner" });
    expectErrcode(await sandbox.phoneNumber(accessToken, { code, openid: "oSomeoneElse" }), 40029);
    expect(await sandbox.phoneNumber(accessToken, { code, openid: "oOwner" })).toMatchObject({
      errcode: 0,
      phone_info: { purePhoneNumber: "13800138000" },
    });
  });

  it("accepts an unbound code with or without an openid", async () => {
    const { sandbox, accessToken } = await withToken();
    const code = await sandbox.phoneCode({ phoneNumber: "13800138000" });
    expect(await sandbox.phoneNumber(accessToken, { code, openid: "oAnyone" })).toMatchObject({
      errcode: 0,
    });
  });

  it("checks the access token before the code: missing 41001, unknown 40001, expired 42001", async () => {
    const { sandbox, accessToken } = await withToken();
    const code = await sandbox.phoneCode({ phoneNumber: "13800138000" });
    expectErrcode(await sandbox.postJson("/wxa/business/getuserphonenumber", { code }), 41001);
    expectErrcode(await sandbox.phoneNumber("not-a-token", { code }), 40001);
    sandbox.clock.advance(ACCESS_TOKEN_TTL_S * 1000);
    expectErrcode(await sandbox.phoneNumber(accessToken, { code }), 42001);
  });

  it("answers 47001 to a malformed body and 41008 to a missing code", async () => {
    const { sandbox, accessToken } = await withToken();
    expectErrcode(await sandbox.phoneNumber(accessToken, '{"code":'), 47001);
    expectErrcode(await sandbox.phoneNumber(accessToken, "[1,2]"), 47001);
    expectErrcode(await sandbox.phoneNumber(accessToken, {}), 41008);
  });

  it("answers 43002 to a GET", async () => {
    const { sandbox, accessToken } = await withToken();
    expectErrcode(
      await sandbox.getJson(`/wxa/business/getuserphonenumber?access_token=${accessToken}`),
      43002,
    );
  });
});

describe("unknown paths", () => {
  it("answer HTTP 404 with errcode -1", async () => {
    const sandbox = await testSandbox();
    const res = await sandbox.get("/cgi-bin/unknown");
    expect(res.status).toBe(404);
    expectErrcode((await res.json()) as Record<string, unknown>, -1);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});
