import type { TokenPair } from "@wxauth/contracts";
import { createPinia, setActivePinia } from "pinia";
import { beforeEach, describe, expect, it } from "vitest";
import { api } from "../api";
import { ApiError, API_BASE_URL, TransportError } from ".";
import { SESSION_STORAGE_KEY, useAuthStore } from "../stores/auth";
import { deferred, installFakeUni, type FakeUni, type ScriptedAnswer } from "../testing/fake-uni";
import { errorBody, me, session, user } from "../testing/fixtures";

/**
 * A scripted API behind uni.request: /api/me accepts only the current access token, and
 * /api/auth/refresh rotates the pair (or fails as the test says).
 */
function scriptApi(uni: FakeUni) {
  const api = {
    validAccessToken: "access-token-1" as string | null,
    validRefreshToken: "refresh-token-0000-1",
    generation: 1,
    refreshCalls: 0,
    refreshGate: null as Promise<void> | null,
    refreshAnswer: null as ScriptedAnswer | null,
  };
  uni.script = async (call) => {
    const path = new URL(call.url).pathname;
    if (path === "/api/auth/refresh") {
      api.refreshCalls += 1;
      if (api.refreshGate) await api.refreshGate;
      if (api.refreshAnswer) return api.refreshAnswer;
      const { refreshToken } = call.data as { refreshToken: string };
      if (refreshToken !== api.validRefreshToken) return errorBody("REFRESH_TOKEN_INVALID");
      api.generation += 1;
      const pair: TokenPair = {
        accessToken: `access-token-${api.generation}`,
        refreshToken: `refresh-token-0000-${api.generation}`,
        expiresIn: 900,
      };
      api.validAccessToken = pair.accessToken;
      api.validRefreshToken = pair.refreshToken;
      return { statusCode: 200, data: pair };
    }
    if (path === "/api/me") {
      if (call.header.authorization !== `Bearer ${api.validAccessToken}`) {
        return errorBody("UNAUTHORIZED");
      }
      return { statusCode: 200, data: me };
    }
    if (path === "/api/me/avatar") {
      if (call.header.authorization !== `Bearer ${api.validAccessToken}`) {
        return errorBody("UNAUTHORIZED");
      }
      return { statusCode: 200, data: { ...user, avatarUrl: AVATAR_URL } };
    }
    if (path === "/api/auth/wechat/login") return errorBody("WECHAT_CODE_INVALID");
    return errorBody("NOT_FOUND");
  };
  return api;
}

const AVATAR_URL = "https://api.example.com/api/avatars/7d6c5a1e-0f4b-4c8e-9a51-2b3c4d5e6f70";
const CHOSEN_AVATAR = "wxfile://tmp_3b8f0c2a9d.jpg";

const meCalls = (uni: FakeUni) => uni.requests.filter((call) => call.url.endsWith("/api/me"));

/** A fake uni with a scripted API behind it, and a fresh store holding a signed-in session. */
function signedIn() {
  const uni = installFakeUni();
  const server = scriptApi(uni);
  setActivePinia(createPinia());
  useAuthStore().startSession(session(1));
  return { uni, server };
}

describe("http", () => {
  let uni: FakeUni;
  let server: ReturnType<typeof scriptApi>;

  beforeEach(() => {
    ({ uni, server } = signedIn());
  });

  it("sends to the API base URL with the Bearer token and returns the parsed body", async () => {
    await expect(api.getMe()).resolves.toEqual(me);
    expect(uni.requests).toHaveLength(1);
    expect(uni.requests[0]).toMatchObject({
      url: `${API_BASE_URL}/api/me`,
      method: "GET",
      header: { authorization: "Bearer access-token-1" },
    });
  });

  it("sends no token to public routes and never refreshes on their 401", async () => {
    const failure = await api.wechatLogin({ code: "login-code" }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({ code: "WECHAT_CODE_INVALID", status: 401, retryable: false });
    expect(uni.requests).toHaveLength(1);
    expect(uni.requests[0]?.header.authorization).toBeUndefined();
    expect(server.refreshCalls).toBe(0);
  });

  it("turns contract error bodies into ApiError with the contract code", async () => {
    uni.script = () => errorBody("RATE_LIMITED");
    await expect(api.health()).rejects.toMatchObject({
      name: "ApiError",
      code: "RATE_LIMITED",
      status: 429,
      retryable: true,
      requestId: "req-1",
    });
  });

  it("rejects a success body that breaks the contract", async () => {
    uni.script = () => ({ statusCode: 200, data: { ...user, phone: "13800138000" } });
    const failure = await api.getMe().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TransportError);
    expect(failure).toMatchObject({ failure: "invalid_response" });
  });

  it("treats an error page without a contract body as an invalid response", async () => {
    uni.script = () => ({ statusCode: 502, data: "<html>Bad Gateway</html>" });
    await expect(api.health()).rejects.toMatchObject({
      name: "TransportError",
      failure: "invalid_response",
    });
  });

  it("reports network failures and timeouts as TransportError", async () => {
    uni.script = () => ({ fail: "request:fail timeout" });
    await expect(api.health()).rejects.toMatchObject({
      name: "TransportError",
      failure: "timeout",
    });
    uni.script = () => ({ fail: "request:fail net::ERR_CONNECTION_REFUSED" });
    await expect(api.health()).rejects.toMatchObject({
      name: "TransportError",
      failure: "network",
    });
  });

  it("runs one refresh for concurrent 401s and replays every request with the new token", async () => {
    server.validAccessToken = null; // the access token expired
    const gate = deferred<void>();
    server.refreshGate = gate.promise;

    const calls = Promise.all([api.getMe(), api.getMe(), api.getMe()]);
    await waitUntil(() => meCalls(uni).length === 3 && server.refreshCalls === 1);
    gate.resolve();

    await expect(calls).resolves.toEqual([me, me, me]);
    expect(server.refreshCalls).toBe(1);
    const replays = meCalls(uni).slice(3);
    expect(replays).toHaveLength(3);
    for (const replay of replays) expect(replay.header.authorization).toBe("Bearer access-token-2");

    const auth = useAuthStore();
    expect(auth.accessToken).toBe("access-token-2");
    expect(auth.refreshToken).toBe("refresh-token-0000-2");
    expect(uni.storage.get(SESSION_STORAGE_KEY)).toMatchObject({
      refreshToken: "refresh-token-0000-2",
    });
  });

  it("queues requests made during a refresh and sends them only with the new token", async () => {
    server.validAccessToken = null;
    const gate = deferred<void>();
    server.refreshGate = gate.promise;

    const first = api.getMe();
    await waitUntil(() => server.refreshCalls === 1);
    const queued = api.getMe();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(meCalls(uni)).toHaveLength(1); // the queued request waits for the refresh
    gate.resolve();

    await expect(Promise.all([first, queued])).resolves.toEqual([me, me]);
    expect(server.refreshCalls).toBe(1);
    expect(
      meCalls(uni)
        .slice(1)
        .map((call) => call.header.authorization),
    ).toEqual(["Bearer access-token-2", "Bearer access-token-2"]);
  });

  it("logs out and goes back to login once when the refresh is refused", async () => {
    server.validAccessToken = null;
    server.refreshAnswer = errorBody("REFRESH_TOKEN_REUSED");

    const results = await Promise.allSettled([api.getMe(), api.getMe()]);
    expect(results.map((result) => result.status)).toEqual(["rejected", "rejected"]);
    expect(results[0]).toMatchObject({ reason: { code: "REFRESH_TOKEN_REUSED" } });
    expect(server.refreshCalls).toBe(1);

    const auth = useAuthStore();
    expect(auth.isSignedIn).toBe(false);
    expect(uni.storage.has(SESSION_STORAGE_KEY)).toBe(false);
    expect(uni.reLaunches).toEqual(["/pages/login/login"]);
  });

  it("keeps the session when the refresh only failed on the network", async () => {
    server.validAccessToken = null;
    server.refreshAnswer = { fail: "request:fail timeout" };

    await expect(api.getMe()).rejects.toMatchObject({ name: "TransportError", failure: "timeout" });
    expect(useAuthStore().refreshToken).toBe("refresh-token-0000-1");
    expect(uni.reLaunches).toEqual([]);

    server.refreshAnswer = null; // the network is back: the next call refreshes and succeeds
    await expect(api.getMe()).resolves.toEqual(me);
    expect(server.refreshCalls).toBe(2);
  });

  it("sends PATCH as PATCH in H5", async () => {
    uni.script = () => ({ statusCode: 200, data: { ...user, nickname: "小明" } });
    await expect(api.updateMe({ nickname: "小明" })).resolves.toMatchObject({ nickname: "小明" });
    expect(uni.requests[0]).toMatchObject({ method: "PATCH", data: { nickname: "小明" } });
    expect(uni.requests[0]?.header["x-http-method-override"]).toBeUndefined();
  });

  it("puts path parameters into the path, encoded, and sends DELETE without a body", async () => {
    uni.script = () => ({ statusCode: 204, data: "" });
    await expect(api.revokeSession("0193 a/b")).resolves.toBeUndefined();
    expect(uni.requests[0]).toMatchObject({
      url: `${API_BASE_URL}/api/me/sessions/0193%20a%2Fb`,
      method: "DELETE",
      header: { authorization: "Bearer access-token-1" },
    });
    expect(uni.requests[0]?.data).toBeUndefined();
    expect(uni.requests[0]?.header["content-type"]).toBeUndefined();
  });

  it("reads the 202 of a deletion request and the user of its cancellation", async () => {
    const deletionScheduledAt = "2026-12-11T08:00:00.000Z";
    uni.script = (call) =>
      call.method === "POST"
        ? { statusCode: 202, data: { deletionScheduledAt } }
        : { statusCode: 200, data: user };
    await expect(api.requestDeletion()).resolves.toEqual({ deletionScheduledAt });
    await expect(api.cancelDeletion()).resolves.toEqual(user);
    expect(uni.requests.map((call) => `${call.method} ${new URL(call.url).pathname}`)).toEqual([
      "POST /api/me/deletion",
      "DELETE /api/me/deletion",
    ]);
  });
});

describe("http uploads", () => {
  let uni: FakeUni;
  let server: ReturnType<typeof scriptApi>;

  beforeEach(() => {
    ({ uni, server } = signedIn());
  });

  it("uploads the file with uni.uploadFile to the base URL, with the Bearer token", async () => {
    await expect(api.uploadAvatar(CHOSEN_AVATAR)).resolves.toEqual({
      ...user,
      avatarUrl: AVATAR_URL,
    });
    expect(uni.uploads).toEqual([
      {
        url: `${API_BASE_URL}/api/me/avatar`,
        header: { accept: "application/json", authorization: "Bearer access-token-1" },
        filePath: CHOSEN_AVATAR,
        name: "file",
      },
    ]);
    // uploadFile sets the multipart type and boundary itself; a JSON type would break the body.
    expect(uni.uploads[0]?.header["content-type"]).toBeUndefined();
  });

  it("refreshes once on a 401 and replays the upload with the new token", async () => {
    server.validAccessToken = null;
    const gate = deferred<void>();
    server.refreshGate = gate.promise;

    const calls = Promise.all([api.uploadAvatar(CHOSEN_AVATAR), api.getMe()]);
    await waitUntil(() => server.refreshCalls === 1 && uni.uploads.length === 1);
    gate.resolve();

    await expect(calls).resolves.toEqual([{ ...user, avatarUrl: AVATAR_URL }, me]);
    expect(server.refreshCalls).toBe(1);
    expect(uni.uploads.map((upload) => upload.header.authorization)).toEqual([
      "Bearer access-token-1",
      "Bearer access-token-2",
    ]);
    expect(uni.uploads[1]?.filePath).toBe(CHOSEN_AVATAR);
  });

  it("logs out when the refresh behind a refused upload is refused", async () => {
    server.validAccessToken = null;
    server.refreshAnswer = errorBody("REFRESH_TOKEN_INVALID");
    await expect(api.uploadAvatar(CHOSEN_AVATAR)).rejects.toMatchObject({
      code: "REFRESH_TOKEN_INVALID",
    });
    expect(useAuthStore().isSignedIn).toBe(false);
    expect(uni.reLaunches).toEqual(["/pages/login/login"]);
  });

  it("maps the upload's error body (which uploadFile gives as text) to ApiError", async () => {
    uni.script = () => errorBody("PAYLOAD_TOO_LARGE");
    await expect(api.uploadAvatar(CHOSEN_AVATAR)).rejects.toMatchObject({
      name: "ApiError",
      code: "PAYLOAD_TOO_LARGE",
      status: 413,
    });
  });

  it("validates the answer with the contract's User schema", async () => {
    uni.script = () => ({ statusCode: 200, data: { ...user, avatarUrl: 42 } });
    await expect(api.uploadAvatar(CHOSEN_AVATAR)).rejects.toMatchObject({
      name: "TransportError",
      failure: "invalid_response",
    });
    uni.script = () => ({ statusCode: 502, data: "<html>Bad Gateway</html>" });
    await expect(api.uploadAvatar(CHOSEN_AVATAR)).rejects.toMatchObject({
      name: "TransportError",
      failure: "invalid_response",
    });
  });

  it("reports a failed or timed-out upload as TransportError", async () => {
    uni.script = () => ({ fail: "request:fail timeout" });
    await expect(api.uploadAvatar(CHOSEN_AVATAR)).rejects.toMatchObject({
      name: "TransportError",
      failure: "timeout",
    });
    uni.script = () => ({ fail: "request:fail url not in domain list" });
    await expect(api.uploadAvatar(CHOSEN_AVATAR)).rejects.toMatchObject({
      name: "TransportError",
      failure: "network",
    });
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error("condition not reached");
}
