import {
  SessionListSchema,
  TokenPairSchema,
  WechatLoginResponseSchema,
  type Authenticated,
  type Device,
  type Session,
} from "@wxauth/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectErrorBody, startTestApi, type TestApi } from "../testing/harness.js";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ captureLogs: true, env: { REFRESH_REUSE_GRACE_S: "10" } });
});
afterAll(() => api.close());

const PHONE: Device = { platform: "ios", model: "iPhone 15", system: "iOS 17.0" };
const TABLET: Device = { platform: "android", model: "MatePad 11", system: "HarmonyOS 4.2" };

/** The registered WeChat user signing in again, from `device`. */
async function signInAgain(openid: string, device?: Device): Promise<Authenticated> {
  const { code } = await api.loginCode({ openid });
  const result = await api.request("POST", "/api/auth/wechat/login", {
    body: { code, ...(device ? { device } : {}) },
  });
  expect(result.status, result.text).toBe(200);
  const answer = WechatLoginResponseSchema.parse(result.body);
  if (answer.status !== "authenticated") throw new Error("expected a returning user");
  return answer;
}

async function sessionsOf(accessToken: string): Promise<Session[]> {
  const result = await api.request("GET", "/api/me/sessions", { token: accessToken });
  expect(result.status, result.text).toBe(200);
  return SessionListSchema.parse(result.body).sessions;
}

const meStatus = async (accessToken: string) =>
  (await api.request("GET", "/api/me", { token: accessToken })).status;
const refresh = (refreshToken: string) =>
  api.request("POST", "/api/auth/refresh", { body: { refreshToken } });

/** The security events logged so far, parsed. */
const events = () =>
  api.logs
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => typeof line.event === "string");

describe("GET /api/me/sessions", () => {
  it("lists the live sessions newest first, with their device, marking the current one", async () => {
    const registered = await api.register();
    const phone = await signInAgain(registered.openid, PHONE);
    api.clock.advance(1000);
    const tablet = await signInAgain(registered.openid, TABLET);
    await api.request("POST", "/api/auth/logout", {
      body: { refreshToken: registered.refreshToken },
    });

    const listed = await sessionsOf(phone.accessToken);
    expect(listed.map((session) => session.device)).toEqual([TABLET, PHONE]);
    expect(listed.map((session) => session.current)).toEqual([false, true]);
    const [newest, older] = listed;
    expect(Date.parse(newest!.createdAt)).toBeGreaterThanOrEqual(Date.parse(older!.createdAt));
    expect((await sessionsOf(tablet.accessToken)).map((session) => session.current)).toEqual([
      true,
      false,
    ]);
  });

  it("moves a session's lastUsedAt when its refresh token is used", async () => {
    const registered = await api.register();
    const [before] = await sessionsOf(registered.accessToken);
    api.clock.advance(60_000);
    const pair = TokenPairSchema.parse((await refresh(registered.refreshToken)).body);
    const [after] = await sessionsOf(pair.accessToken);
    expect(after?.id).toBe(before?.id);
    expect(after?.createdAt).toBe(before?.createdAt);
    expect(Date.parse(after!.lastUsedAt) - Date.parse(before!.lastUsedAt)).toBeGreaterThanOrEqual(
      60_000,
    );
    expect(after?.current).toBe(true);
  });

  it("stores an empty device when the client reports none, and refuses fields over 64 characters", async () => {
    const registered = await api.register();
    expect((await sessionsOf(registered.accessToken))[0]?.device).toEqual({});

    const { code } = await api.loginCode({ openid: registered.openid });
    const tooLong = await api.request("POST", "/api/auth/wechat/login", {
      body: { code, device: { model: "M".repeat(65) } },
    });
    expect(expectErrorBody(tooLong, "VALIDATION_FAILED").error.message).toMatch(/device\.model/);
  });

  it("lists the sessions of the signed-in user only", async () => {
    const alice = await api.register();
    const bob = await api.register();
    const ids = (await sessionsOf(alice.accessToken)).map((session) => session.id);
    const bobIds = (await sessionsOf(bob.accessToken)).map((session) => session.id);
    expect(ids.filter((id) => bobIds.includes(id))).toEqual([]);
  });
});

describe("DELETE /api/me/sessions/:sessionId", () => {
  it("signs that session out at once: its access token and its refresh token stop working", async () => {
    const registered = await api.register();
    const tablet = await signInAgain(registered.openid, TABLET);
    const tabletSession = (await sessionsOf(tablet.accessToken)).find((s) => s.current)!;
    expect(await meStatus(tablet.accessToken)).toBe(200);

    const revoked = await api.request("DELETE", `/api/me/sessions/${tabletSession.id}`, {
      token: registered.accessToken,
    });
    expect(revoked.status).toBe(204);
    expect(revoked.text).toBe("");

    // Long before the access token expires.
    const refused = await api.request("GET", "/api/me", { token: tablet.accessToken });
    expect(expectErrorBody(refused, "UNAUTHORIZED").error.message).toMatch(/signed out/);
    expectErrorBody(await refresh(tablet.refreshToken), "REFRESH_TOKEN_INVALID");
    // The session that asked goes on.
    expect(await meStatus(registered.accessToken)).toBe(200);
    expect((await sessionsOf(registered.accessToken)).map((session) => session.id)).not.toContain(
      tabletSession.id,
    );
  });

  it("is idempotent for the user's own session, and 404 for anyone else's", async () => {
    const alice = await api.register();
    const bob = await api.register();
    const [bobSession] = await sessionsOf(bob.accessToken);
    const revokeBobs = (token: string) =>
      api.request("DELETE", `/api/me/sessions/${bobSession!.id}`, { token });

    expectErrorBody(await revokeBobs(alice.accessToken), "NOT_FOUND");
    expect(await meStatus(bob.accessToken)).toBe(200);
    expectErrorBody(
      await api.request("DELETE", "/api/me/sessions/no-such-session", {
        token: alice.accessToken,
      }),
      "NOT_FOUND",
    );

    const again = await signInAgain(bob.openid);
    expect((await revokeBobs(again.accessToken)).status).toBe(204);
    expect((await revokeBobs(again.accessToken)).status).toBe(204);
    expect(await meStatus(bob.accessToken)).toBe(401);
  });
});

describe("DELETE /api/me/sessions", () => {
  it("signs every session out at once, the one asking included", async () => {
    const registered = await api.register();
    const phone = await signInAgain(registered.openid, PHONE);
    const tablet = await signInAgain(registered.openid, TABLET);
    const other = await api.register();

    const result = await api.request("DELETE", "/api/me/sessions", { token: phone.accessToken });
    expect(result.status).toBe(204);
    for (const session of [registered, phone, tablet]) {
      expect(await meStatus(session.accessToken)).toBe(401);
      expectErrorBody(await refresh(session.refreshToken), "REFRESH_TOKEN_INVALID");
    }
    // Nobody else is signed out.
    expect(await meStatus(other.accessToken)).toBe(200);
    // Signing in again starts afresh.
    const back = await signInAgain(registered.openid, PHONE);
    expect((await sessionsOf(back.accessToken)).map((session) => session.device)).toEqual([PHONE]);
  });
});

describe("a reused refresh token", () => {
  it("revokes its family, whose access tokens are refused at once", async () => {
    const registered = await api.register();
    const successor = TokenPairSchema.parse((await refresh(registered.refreshToken)).body);
    expect(await meStatus(successor.accessToken)).toBe(200);
    api.clock.advance(11_000);
    expectErrorBody(await refresh(registered.refreshToken), "REFRESH_TOKEN_REUSED");
    expect(await meStatus(successor.accessToken)).toBe(401);
    expect(await meStatus(registered.accessToken)).toBe(401);
  });
});

describe("security events", () => {
  it("logs each one as one line with its name, the user id and the request id, and no personal data", async () => {
    const phoneNumber = "13912340001";
    const registered = await api.register({ phoneNumber });
    const userId = registered.user.id;
    const again = await signInAgain(registered.openid, PHONE);
    const [, first] = await sessionsOf(again.accessToken);
    await api.request("DELETE", `/api/me/sessions/${first!.id}`, {
      token: again.accessToken,
      headers: { "x-request-id": "req-revoke-0001" },
    });
    const third = await signInAgain(registered.openid);
    const successor = TokenPairSchema.parse((await refresh(third.refreshToken)).body);
    api.clock.advance(11_000);
    await refresh(third.refreshToken);
    const fourth = await signInAgain(registered.openid);
    await api.request("POST", "/api/auth/logout", { body: { refreshToken: fourth.refreshToken } });
    const fifth = await signInAgain(registered.openid);
    await api.request("DELETE", "/api/me/sessions", { token: fifth.accessToken });

    const mine = events().filter((event) => event.userId === userId);
    expect(mine.map((event) => event.event)).toEqual([
      "register",
      "login",
      "session_revoked",
      "login",
      "refresh_reuse_detected",
      "login",
      "logout",
      "login",
      "sessions_revoked_all",
    ]);
    for (const event of mine) {
      expect(event.msg).toBe("security event");
      expect(event.requestId).toEqual(expect.any(String));
    }
    expect(mine.find((event) => event.event === "session_revoked")).toMatchObject({
      requestId: "req-revoke-0001",
      sessionId: first!.id,
    });
    // The request id is the request's own: its request line carries the same one.
    const revokeLine = api.logs
      .map((line) => JSON.parse(line) as { reqId?: string; req?: { method: string } })
      .find((line) => line.reqId === "req-revoke-0001" && line.req?.method === "DELETE");
    expect(revokeLine).toBeDefined();
    const eventText = JSON.stringify(mine);
    for (const personal of [phoneNumber, registered.openid, successor.refreshToken, "iPhone"]) {
      expect(eventText).not.toContain(personal);
    }
  });
});
