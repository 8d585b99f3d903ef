/*
 * PostgreSQL refusing this instance (its database dropped or renamed, credentials rotated under
 * it): the same 503 SERVICE_UNAVAILABLE as an outage, so readiness fails and no route answers 500.
 * Authentication failures cannot be provoked on this machine's trust-auth server; a missing
 * database goes through the same classification (db/errors.ts) and is provoked for real.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectErrorBody, startTestApi, type TestApi } from "../testing/harness.js";
import { createDatabase } from "./client.js";

describe("a PostgreSQL database that does not exist", () => {
  let api: TestApi;
  beforeAll(async () => {
    const missing = `postgresql://postgres@127.0.0.1:5432/wxauth_missing_${randomBytes(6).toString("hex")}`;
    api = await startTestApi({ overrides: { db: await createDatabase(missing) } });
  });
  afterAll(() => api.close());

  it("fails readiness: /api/health/ready answers 503", async () => {
    const health = await api.request("GET", "/api/health/ready");
    expect(health.status).toBe(503);
    expectErrorBody(health, "SERVICE_UNAVAILABLE");
  });

  it("answers login and logout with 503 (login retryable), never a 500", async () => {
    const { code } = await api.loginCode();
    const login = await api.request("POST", "/api/auth/wechat/login", { body: { code } });
    expect(login.status).toBe(503);
    expect(expectErrorBody(login, "SERVICE_UNAVAILABLE").error.retryable).toBe(true);
    const logout = await api.request("POST", "/api/auth/logout", {
      body: { refreshToken: "x".repeat(43) },
    });
    expect(logout.status).toBe(503);
    expectErrorBody(logout, "SERVICE_UNAVAILABLE");
  });
});
