import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../testing/harness.js";
import { PreparedStatementNames } from "./client.js";
import { isForeignKeyViolation, isUniqueViolation } from "./errors.js";

// Every transaction holds a pooled connection of its own, and the server isolates them: a
// statement outside a transaction is never part of it.
describe("transactions beside other statements", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  const userRow = (id: string, unionid: string, at = new Date()) => ({
    id,
    unionid,
    created_at: at,
    updated_at: at,
  });
  const insertUser = (id: string, unionid: string) =>
    api.deps.db.insertInto("users").values(userRow(id, unionid)).executeTakeFirst();
  const userWith = async (unionid: string) =>
    (await api.deps.db
      .selectFrom("users")
      .select("id")
      .where("unionid", "=", unionid)
      .executeTakeFirst()) ?? null;

  it("a write outside a transaction is not swallowed by that transaction's rollback", async () => {
    const db = api.deps.db;
    const inside = db
      .transaction()
      .execute(async (transaction) => {
        await transaction.insertInto("users").values(userRow("gate-1", "gate-inside")).execute();
        await new Promise((resolve) => setTimeout(resolve, 100));
        throw new Error("roll back");
      })
      .catch((error: Error) => error.message);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await insertUser("gate-2", "gate-outside")).numInsertedOrUpdatedRows).toBe(1n);
    expect(await inside).toBe("roll back");
    expect(await userWith("gate-outside")).toEqual({ id: "gate-2" });
    expect(await userWith("gate-inside")).toBeNull();
  });

  it("concurrent transactions all commit instead of failing", async () => {
    const db = api.deps.db;
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        db.transaction().execute(async (transaction) => {
          await transaction
            .insertInto("users")
            .values(userRow(`gate-c${i}`, `gate-concurrent-${i}`))
            .execute();
          await new Promise((resolve) => setTimeout(resolve, 5));
          await transaction
            .updateTable("users")
            .set({ nickname: `n${i}` })
            .where("id", "=", `gate-c${i}`)
            .execute();
          const row = await transaction
            .selectFrom("users")
            .select("nickname")
            .where("id", "=", `gate-c${i}`)
            .executeTakeFirst();
          return row?.nickname;
        }),
      ),
    );
    expect(results).toEqual(["n0", "n1", "n2", "n3", "n4"]);
  });

  it("a unique violation is recognised as one, and the next statement runs after it", async () => {
    await insertUser("unique-1", "unique");
    const error = await insertUser("unique-2", "unique").catch((caught: unknown) => caught);
    expect(isUniqueViolation(error)).toBe(true);
    expect((await insertUser("unique-3", "unique-3")).numInsertedOrUpdatedRows).toBe(1n);
  });

  it("a write naming a row that is not there is recognised as a foreign-key violation", async () => {
    const now = new Date();
    const error = await api.deps.db
      .insertInto("sessions")
      .values({
        id: "session-of-nobody",
        user_id: "no-such-user",
        appid: "wx-any",
        created_at: now,
        updated_at: now,
      })
      .execute()
      .catch((caught: unknown) => caught);
    expect(isForeignKeyViolation(error)).toBe(true);
    expect(isUniqueViolation(error)).toBe(false);
  });

  it("reads back the dates it wrote, to the millisecond", async () => {
    const createdAt = new Date("2026-12-10T12:34:56.789Z");
    await api.deps.db
      .insertInto("users")
      .values(userRow("dates-1", "dates", createdAt))
      .execute();
    const row = await api.deps.db
      .selectFrom("users")
      .select("created_at as createdAt")
      .where("id", "=", "dates-1")
      .executeTakeFirstOrThrow();
    expect(row.createdAt.toISOString()).toBe(createdAt.toISOString());
  });
});

// PostgreSQL parses and plans a statement once per connection, not on every call (the guard of
// GET /api/me depends on it: docs/benchmarks.md).
describe("statements prepared once per connection", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  it("a statement with parameters is prepared once, under its connection's own name", async () => {
    const prepared = await api.deps.db.transaction().execute(async (transaction) => {
      for (const id of ["prepared-1", "prepared-2", "prepared-3"]) {
        await transaction.selectFrom("users").select("nickname").where("id", "=", id).execute();
      }
      const { rows } = await sql<{ name: string; statement: string }>`
        select name, statement from pg_prepared_statements`.execute(transaction);
      return rows.filter((row) => row.statement.startsWith('select "nickname" from "users"'));
    });
    expect(prepared).toEqual([
      {
        name: expect.stringMatching(/^wxauth_[0-9a-f]{8}_\d+_\d+$/),
        statement: expect.any(String),
      },
    ]);
  });

  it("a prepared statement gone from the server costs its connection, not a 500", async () => {
    const db = api.deps.db;
    const lost = db.transaction().execute(async (transaction) => {
      const read = (id: string) =>
        transaction.selectFrom("users").select("id").where("id", "=", id).execute();
      await read("lost-1");
      // What a pooler without prepared-statement support, or a session reset, does.
      await sql`deallocate all`.execute(transaction);
      await read("lost-2");
    });
    await expect(lost).rejects.toMatchObject({ kind: "unavailable", code: "26000" });
    // The connection went with it; the statement is prepared again on the next one.
    expect(await db.selectFrom("users").select("id").where("id", "=", "lost-3").execute()).toEqual(
      [],
    );
  });

  it("names a statement per connection, and leaves texts past MAX_NAMED unnamed", () => {
    const names = new PreparedStatementNames();
    const [one, two] = [{}, {}];
    expect(names.nameFor(one, "select $1")).not.toBe(names.nameFor(two, "select $1"));
    expect(names.nameFor(one, "select $1")).toBe(names.nameFor(one, "select $1"));
    for (let i = 1; i < PreparedStatementNames.MAX_NAMED; i++)
      names.nameFor(one, `select ${i}, $1`);
    expect(names.nameFor(one, "select 'one more', $1")).toBeUndefined();
    expect(names.nameFor(two, "select $1")).toBeDefined();
  });
});
