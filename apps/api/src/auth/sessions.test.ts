import { TokenPairSchema } from "@wxauth/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectErrorBody, startTestApi, type TestApi } from "../testing/harness.js";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ env: { REFRESH_REUSE_GRACE_S: "10", REFRESH_TOKEN_TTL_S: "3600" } });
});
afterAll(() => api.close());

const refresh = (refreshToken: string) =>
  api.request("POST", "/api/auth/refresh", { body: { refreshToken } });

describe("POST /api/auth/refresh", () => {
  it("rotates the refresh token into a new pair that works", async () => {
    const session = await api.register();
    const result = await refresh(session.refreshToken);
    expect(result.status).toBe(200);
    const pair = TokenPairSchema.parse(result.body);
    expect(pair.refreshToken).not.toBe(session.refreshToken);
    expect(pair.expiresIn).toBe(900);
    const me = await api.request("GET", "/api/me", { token: pair.accessToken });
    expect(me.status).toBe(200);
    expect(TokenPairSchema.parse((await refresh(pair.refreshToken)).body)).toBeTruthy();
  });

  it("answers a rotated token inside the grace window with the same successor and a fresh access token", async () => {
    const session = await api.register();
    const first = TokenPairSchema.parse((await refresh(session.refreshToken)).body);
    api.clock.advance(5_000);
    const again = await refresh(session.refreshToken);
    expect(again.status).toBe(200);
    const second = TokenPairSchema.parse(again.body);
    expect(second.refreshToken).toBe(first.refreshToken);
    expect(second.accessToken).not.toBe(first.accessToken);
    // Idempotent: the successor is still the live token of the family.
    expect((await refresh(first.refreshToken)).status).toBe(200);
  });

  it("gives concurrent refreshes of one token the same successor", async () => {
    const session = await api.register();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => refresh(session.refreshToken)),
    );
    const pairs = results.map((result) => {
      expect(result.status).toBe(200);
      return TokenPairSchema.parse(result.body);
    });
    expect(new Set(pairs.map((pair) => pair.refreshToken)).size).toBe(1);
  });

  it("revokes the whole family when a rotated token comes back after the grace window", async () => {
    const session = await api.register();
    const successor = TokenPairSchema.parse((await refresh(session.refreshToken)).body);
    api.clock.advance(11_000);
    const reused = await refresh(session.refreshToken);
    expect(reused.status).toBe(401);
    expectErrorBody(reused, "REFRESH_TOKEN_REUSED");
    // The thief's copy and the victim's copy are both dead now.
    const afterRevocation = await refresh(successor.refreshToken);
    expect(afterRevocation.status).toBe(401);
    expectErrorBody(afterRevocation, "REFRESH_TOKEN_INVALID");
  });

  it("refuses unknown and expired tokens with REFRESH_TOKEN_INVALID", async () => {
    const unknown = await refresh("x".repeat(43));
    expect(unknown.status).toBe(401);
    expectErrorBody(unknown, "REFRESH_TOKEN_INVALID");

    const session = await api.register();
    api.clock.advance(3601_000);
    const expired = await refresh(session.refreshToken);
    expect(expired.status).toBe(401);
    expectErrorBody(expired, "REFRESH_TOKEN_INVALID");
  });

  it("forgets a successor's plaintext once the grace window is over", async () => {
    const session = await api.register();
    await refresh(session.refreshToken);
    api.clock.advance(11_000);
    const forgotten = await api.deps.data.sessions.forgetSuccessorsRotatedBefore(
      new Date(api.clock.now() - 10_000),
    );
    expect(forgotten).toBeGreaterThanOrEqual(1);
    expectErrorBody(await refresh(session.refreshToken), "REFRESH_TOKEN_REUSED");
  });
});

describe("POST /api/auth/logout", () => {
  it("revokes the family: 204, then the refresh token no longer works", async () => {
    const session = await api.register();
    const rotated = TokenPairSchema.parse((await refresh(session.refreshToken)).body);
    const result = await api.request("POST", "/api/auth/logout", {
      body: { refreshToken: rotated.refreshToken },
    });
    expect(result.status).toBe(204);
    expect(result.text).toBe("");
    expectErrorBody(await refresh(rotated.refreshToken), "REFRESH_TOKEN_INVALID");
    // Logging out twice, or with an unknown token, is harmless.
    expect(
      (
        await api.request("POST", "/api/auth/logout", {
          body: { refreshToken: rotated.refreshToken },
        })
      ).status,
    ).toBe(204);
  });

  it("leaves the user's other sign-ins alone", async () => {
    const session = await api.register();
    const { code } = await api.loginCode({ openid: session.openid });
    const other = await api.login(code);
    if (other.status !== "authenticated") throw new Error("expected authenticated");
    await api.request("POST", "/api/auth/logout", { body: { refreshToken: session.refreshToken } });
    expect((await refresh(other.refreshToken)).status).toBe(200);
  });
});
