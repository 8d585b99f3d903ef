/*
 * SQLite's own faults: a lock held by another process and a file that cannot be opened. The
 * PostgreSQL counterparts are in src/scale-out/postgres-outage.test.ts.
 */
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { describe, expect, it } from "vitest";
import { PrismaClient } from "../generated/sqlite/client.js";
import { expectErrorBody, startTestApi } from "../test/harness.js";
import { createDatabase, type Database } from "./client.js";

describe("database faults answer 503 SERVICE_UNAVAILABLE", () => {
  it("a database locked by another process: 503 within the busy timeout, then recovery", async () => {
    const api = await startTestApi();
    let locker: Database | undefined;
    try {
      locker = await createDatabase(api.config.databaseUrl);
      await locker.$executeRawUnsafe("BEGIN EXCLUSIVE");
      const { code } = await api.loginCode();
      const started = Date.now();
      const result = await api.request("POST", "/api/auth/wechat/login", { body: { code } });
      expect(result.status).toBe(503);
      expect(expectErrorBody(result, "SERVICE_UNAVAILABLE").error.retryable).toBe(true);
      expect(Date.now() - started).toBeLessThan(5000);
      await locker.$executeRawUnsafe("COMMIT");
      const { code: next } = await api.loginCode();
      expect(
        (await api.request("POST", "/api/auth/wechat/login", { body: { code: next } })).status,
      ).toBe(200);
    } finally {
      await locker?.$disconnect();
      await api.close();
    }
  });

  it("an unreachable database: health and routes answer 503, never hang or 500", async () => {
    const unreachable = new PrismaClient({
      adapter: new PrismaBetterSQLite3({
        url: "/nonexistent-wxauth-dir/none.db",
        fileMustExist: true,
      }),
    });
    const api = await startTestApi({ overrides: { db: unreachable } });
    try {
      const health = await api.request("GET", "/api/health/ready");
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
