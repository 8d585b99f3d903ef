import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../test/harness.js";

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
