import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../generated/sqlite/client.js";
import { expectErrorBody, startTestApi, type TestApi } from "../test/harness.js";
import { createDatabase, type Database } from "./client.js";

describe("SQLite transactions through the serialising gate", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  it("a write outside a transaction is not swallowed by that transaction's rollback", async () => {
    const db = api.deps.db;
    const inside = db
      .$transaction(async (tx) => {
        await tx.user.create({ data: { openid: "gate-inside" } });
        await new Promise((resolve) => setTimeout(resolve, 100));
        throw new Error("roll back");
      })
      .catch((error: Error) => error.message);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const outside = await db.user.create({ data: { openid: "gate-outside" } });
    expect(await inside).toBe("roll back");
    expect(await db.user.findUnique({ where: { openid: "gate-outside" } })).toMatchObject({
      id: outside.id,
    });
    expect(await db.user.findUnique({ where: { openid: "gate-inside" } })).toBeNull();
  });

  it("concurrent transactions run one after the other instead of failing", async () => {
    const db = api.deps.db;
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        db.$transaction(async (tx) => {
          const user = await tx.user.create({ data: { openid: `gate-concurrent-${i}` } });
          await new Promise((resolve) => setTimeout(resolve, 5));
          return tx.user.update({ where: { id: user.id }, data: { nickname: `n${i}` } });
        }),
      ),
    );
    expect(results.map((user) => user.nickname)).toEqual(["n0", "n1", "n2", "n3", "n4"]);
  });
});

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
