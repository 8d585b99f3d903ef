import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../testing/harness.js";
import { isForeignKeyViolation, isUniqueViolation } from "./errors.js";

// On SQLite these go through the statement gate of db/client.ts (one connection for everything);
// on PostgreSQL through separate pooled connections. Either way the isolation must hold.
describe("transactions beside other statements", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  const insertUser = "INSERT INTO users (id, openid, created_at, updated_at) VALUES (?, ?, ?, ?)";
  const userWith = async (openid: string) =>
    (await api.deps.db.query("SELECT id FROM users WHERE openid = ?", [openid]))[0] ?? null;

  it("a write outside a transaction is not swallowed by that transaction's rollback", async () => {
    const db = api.deps.db;
    const now = new Date();
    const inside = db
      .transaction(async (transaction) => {
        await transaction.execute(insertUser, ["gate-1", "gate-inside", now, now]);
        await new Promise((resolve) => setTimeout(resolve, 100));
        throw new Error("roll back");
      })
      .catch((error: Error) => error.message);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await db.execute(insertUser, ["gate-2", "gate-outside", now, now])).toBe(1);
    expect(await inside).toBe("roll back");
    expect(await userWith("gate-outside")).toEqual({ id: "gate-2" });
    expect(await userWith("gate-inside")).toBeNull();
  });

  it("concurrent transactions all commit instead of failing", async () => {
    const db = api.deps.db;
    const now = new Date();
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        db.transaction(async (transaction) => {
          await transaction.execute(insertUser, [`gate-c${i}`, `gate-concurrent-${i}`, now, now]);
          await new Promise((resolve) => setTimeout(resolve, 5));
          await transaction.execute("UPDATE users SET nickname = ? WHERE id = ?", [
            `n${i}`,
            `gate-c${i}`,
          ]);
          const [row] = await transaction.query<{ nickname: string }>(
            "SELECT nickname FROM users WHERE id = ?",
            [`gate-c${i}`],
          );
          return row?.nickname;
        }),
      ),
    );
    expect(results).toEqual(["n0", "n1", "n2", "n3", "n4"]);
  });

  it("a unique violation is recognised as one, and the next statement runs after it", async () => {
    const db = api.deps.db;
    const now = new Date();
    await db.execute(insertUser, ["unique-1", "unique", now, now]);
    const error = await db
      .execute(insertUser, ["unique-2", "unique", now, now])
      .catch((caught: unknown) => caught);
    expect(isUniqueViolation(error)).toBe(true);
    expect(await db.execute(insertUser, ["unique-3", "unique-3", now, now])).toBe(1);
  });

  it("a write naming a row that is not there is recognised as a foreign-key violation", async () => {
    const db = api.deps.db;
    const now = new Date();
    const error = await db
      .execute(
        "INSERT INTO refresh_token_families (id, user_id, created_at, updated_at) VALUES (?, ?, ?, ?)",
        ["family-of-nobody", "no-such-user", now, now],
      )
      .catch((caught: unknown) => caught);
    expect(isForeignKeyViolation(error)).toBe(true);
    expect(isUniqueViolation(error)).toBe(false);
  });

  it("reads back the dates it wrote, to the millisecond", async () => {
    const db = api.deps.db;
    const createdAt = new Date("2026-12-10T12:34:56.789Z");
    await db.execute(insertUser, ["dates-1", "dates", createdAt, createdAt]);
    const [row] = await db.query<{ createdAt: unknown }>(
      'SELECT created_at AS "createdAt" FROM users WHERE id = ?',
      ["dates-1"],
    );
    expect(new Date(row?.createdAt as string).toISOString()).toBe(createdAt.toISOString());
  });
});
