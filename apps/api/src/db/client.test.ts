import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../testing/harness.js";
import { directSqlOf } from "./direct-sql.js";
import { isUniqueViolation } from "./errors.js";

// On SQLite these go through the statement gate of db/client.ts (one connection for everything);
// on PostgreSQL through separate pooled connections. Either way the isolation must hold.
describe("interactive transactions beside other queries", () => {
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

  it("concurrent transactions all commit instead of failing", async () => {
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

// The hot statements skip Prisma (db/direct-sql.ts) but share its connection (SQLite) or pool
// (PostgreSQL): the same isolation must hold between the two routes, and each must read what the
// other wrote.
describe("the direct path beside Prisma", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  const direct = () => {
    const sql = directSqlOf(api.deps.db);
    if (!sql) throw new Error("the database has no direct path");
    return sql;
  };
  const insertUser = "INSERT INTO users (id, openid, created_at, updated_at) VALUES (?, ?, ?, ?)";

  it("a direct write is not swallowed by the rollback of a Prisma transaction open beside it", async () => {
    const db = api.deps.db;
    const inside = db
      .$transaction(async (tx) => {
        await tx.user.create({ data: { openid: "direct-gate-inside" } });
        await new Promise((resolve) => setTimeout(resolve, 100));
        throw new Error("roll back");
      })
      .catch((error: Error) => error.message);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = new Date();
    expect(
      await direct().execute(insertUser, ["direct-gate-1", "direct-gate-outside", now, now]),
    ).toBe(1);
    expect(await inside).toBe("roll back");
    expect(await db.user.findUnique({ where: { openid: "direct-gate-outside" } })).toMatchObject({
      id: "direct-gate-1",
      createdAt: now,
    });
    expect(await db.user.findUnique({ where: { openid: "direct-gate-inside" } })).toBeNull();
  });

  it("a direct transaction that throws leaves nothing, and Prisma's writes beside it stay", async () => {
    const db = api.deps.db;
    const now = new Date();
    const failed = direct()
      .transaction(async (transaction) => {
        await transaction.execute(insertUser, ["direct-tx-1", "direct-tx-inside", now, now]);
        await new Promise((resolve) => setTimeout(resolve, 100));
        throw new Error("roll back");
      })
      .catch((error: Error) => error.message);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await db.user.create({ data: { openid: "direct-tx-outside" } });
    expect(await failed).toBe("roll back");
    expect(await db.user.findUnique({ where: { openid: "direct-tx-inside" } })).toBeNull();
    expect(await db.user.findUnique({ where: { openid: "direct-tx-outside" } })).not.toBeNull();
    // The connection is usable afterwards, by both routes.
    const [row] = await direct().query("SELECT openid FROM users WHERE openid = ?", [
      "direct-tx-outside",
    ]);
    expect(row).toEqual({ openid: "direct-tx-outside" });
  });

  it("a unique violation on the direct path is recognised as one, and the statement runs again after it", async () => {
    const now = new Date();
    await direct().execute(insertUser, ["direct-unique-1", "direct-unique", now, now]);
    const error = await direct()
      .execute(insertUser, ["direct-unique-2", "direct-unique", now, now])
      .catch((caught: unknown) => caught);
    expect(isUniqueViolation(error)).toBe(true);
    expect(
      await direct().execute(insertUser, ["direct-unique-3", "direct-unique-3", now, now]),
    ).toBe(1);
  });
});
