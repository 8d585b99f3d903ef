/*
 * SQLite's own faults: a lock held by another process and a file that cannot be opened. The
 * PostgreSQL counterparts are in src/scale-out/postgres-outage.test.ts.
 */
import { describe, expect, it } from "vitest";
import { holdWriteLock } from "../resilience/sqlite-fault.js";
import { expectErrorBody, startTestApi } from "../test/harness.js";
import { createDatabase, sqlitePathOf } from "./client.js";

describe("database faults answer 503 SERVICE_UNAVAILABLE", () => {
  it("a database locked by another process: 503 within the busy timeout, then recovery", async () => {
    const api = await startTestApi();
    let lock: { release(): void } | undefined;
    try {
      lock = holdWriteLock(sqlitePathOf(api.config.databaseUrl));
      const { code } = await api.loginCode();
      const started = Date.now();
      const result = await api.request("POST", "/api/auth/wechat/login", { body: { code } });
      expect(result.status).toBe(503);
      expect(expectErrorBody(result, "SERVICE_UNAVAILABLE").error.retryable).toBe(true);
      expect(Date.now() - started).toBeLessThan(5000);
      lock.release();
      lock = undefined;
      const { code: next } = await api.loginCode();
      expect(
        (await api.request("POST", "/api/auth/wechat/login", { body: { code: next } })).status,
      ).toBe(200);
    } finally {
      lock?.release();
      await api.close();
    }
  });

  it("an unreachable database: health and routes answer 503, never hang or 500", async () => {
    const unreachable = await createDatabase("file:/nonexistent-wxauth-dir/none.db");
    const api = await startTestApi({ overrides: { db: unreachable } });
    try {
      const health = await api.request("GET", "/api/health");
      expect(health.status).toBe(503);
      expectErrorBody(health, "SERVICE_UNAVAILABLE");
      const { code } = await api.loginCode();
      const login = await api.request("POST", "/api/auth/wechat/login", { body: { code } });
      expect(login.status).toBe(503);
      expectErrorBody(login, "SERVICE_UNAVAILABLE");
    } finally {
      await api.close();
    }
  });
});
