/*
 * Database faults on SQLite: another connection holding the write lock, and the database file
 * unopenable (from the start, or once serving). The API must answer 503 SERVICE_UNAVAILABLE with
 * the error body quickly (never hang), and serve again without a restart once the fault clears.
 * The PostgreSQL counterparts are in src/scale-out/postgres-outage.test.ts.
 */
import { existsSync, mkdirSync, renameSync, rmdirSync } from "node:fs";
import { ErrorBodySchema, RegistrationRequiredSchema } from "@wxauth/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase, SQLITE_BUSY_BUDGET_MS, sqlitePathOf } from "../db/client.js";
import { hashOpaqueToken } from "../auth/opaque-tokens.js";
import {
  expectErrorBody,
  startTestApi,
  uniquePhoneNumber,
  type HttpResult,
  type TestApi,
} from "../testing/harness.js";
import { reportFigure } from "../testing/figures.js";
import {
  expectDatabaseUnavailable,
  expectServing,
  reportLatencies,
  requestsDuringTheOutage,
  timed,
} from "../testing/outage.js";
import { holdWriteLock } from "../testing/sqlite-write-lock.js";

/** Room for a loaded 2-core machine on top of the time the API is allowed to wait. */
const SLACK_MS = 2500;

let api: TestApi;
let databaseFile: string;
beforeAll(async () => {
  api = await startTestApi();
  databaseFile = sqlitePathOf(api.config.databaseUrl);
});
afterAll(() => api.close());

describe("a locked database (another connection holds BEGIN EXCLUSIVE)", () => {
  it("answers writes with 503 within the busy timeout, keeps reads working, and recovers when the lock is released", async () => {
    const session = await api.register();
    const returning = await api.loginCode({ openid: session.openid });

    const lock = holdWriteLock(databaseFile);
    let released = false;
    try {
      const writes = {
        login: await timed(
          api.request("POST", "/api/auth/wechat/login", { body: { code: returning.code } }),
        ),
        refresh: await timed(
          api.request("POST", "/api/auth/refresh", {
            body: { refreshToken: session.refreshToken },
          }),
        ),
        updateMe: await timed(
          api.request("PATCH", "/api/me", { token: session.accessToken, body: { nickname: "L" } }),
        ),
      };
      for (const [name, result] of Object.entries(writes)) {
        expectDatabaseUnavailable(result);
        expect(result.elapsedMs, name).toBeLessThan(SQLITE_BUSY_BUDGET_MS + SLACK_MS);
      }
      reportLatencies("locked database, 503 latencies (ms)", writes);
      // WAL: a writer's lock does not stop readers, so the instance stays ready and serves reads.
      expect((await api.request("GET", "/api/health/ready")).status).toBe(200);
      expect((await api.request("GET", "/api/me", { token: session.accessToken })).status).toBe(
        200,
      );

      lock.release();
      released = true;
      // The same process, no restart: the refused writes now go through. The refresh token was
      // never rotated by the failed attempt, so it still works.
      const refreshed = await api.request("POST", "/api/auth/refresh", {
        body: { refreshToken: session.refreshToken },
      });
      expect(refreshed.status).toBe(200);
      const updated = await api.request("PATCH", "/api/me", {
        token: session.accessToken,
        body: { nickname: "after the lock" },
      });
      expect(updated.status).toBe(200);
      const { code } = await api.loginCode({ openid: session.openid });
      const login = await api.login(code);
      expect(login.status).toBe("authenticated");
    } finally {
      if (!released) lock.release();
    }
  });

  // Was a bug: better-sqlite3's synchronous busy loop froze the process for 2 s per blocked write
  // (a read behind 3 blocked writes took ~4-6 s). db/client.ts now fails locks at once and waits
  // asynchronously, outside its statement gate.
  it("keeps serving reads promptly while writes wait on the lock", async () => {
    const session = await api.register();
    const lock = holdWriteLock(databaseFile);
    try {
      const blockedWrites = Array.from({ length: 3 }, (_, i) =>
        api.request("PATCH", "/api/me", {
          token: session.accessToken,
          body: { nickname: `w${i}` },
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      const read = await timed(api.request("GET", "/api/me", { token: session.accessToken }));
      reportFigure("read behind 3 writes blocked on the lock (ms)", read.elapsedMs);
      for (const write of await Promise.all(blockedWrites)) expectDatabaseUnavailable(write);
      expect(read.status).toBe(200);
      expect(read.elapsedMs).toBeLessThan(1000);
    } finally {
      lock.release();
    }
  });
});

/**
 * Starts a registration, lets it take its ticket and wait on a slow WeChat, then locks the
 * database so the final transaction (and the ticket's release) meet the lock. Resolves with the
 * 503 once the lock has been released again.
 */
async function registrationRefusedByTheDatabase() {
  const { code, openid } = await api.loginCode();
  const { registrationTicket } = RegistrationRequiredSchema.parse(await api.login(code));
  const phoneNumber = uniquePhoneNumber();
  const ticketRow = async () => {
    const [row] = await api.deps.db.query<{ usedAt: unknown; claimedUntil: unknown }>(
      'SELECT used_at AS "usedAt", claimed_until AS "claimedUntil" FROM registration_tickets WHERE token_hash = ?',
      [hashOpaqueToken(registrationTicket)],
    );
    if (!row) throw new Error("the ticket is gone");
    return row;
  };
  const register = async () =>
    api.request("POST", "/api/auth/wechat/register", {
      body: { registrationTicket, phoneCode: await api.phoneCode(phoneNumber, openid) },
    });

  await api.fail({ api: "getuserphonenumber", delayMs: 1000 });
  const pending = register();
  await expect.poll(async () => (await ticketRow()).claimedUntil, { interval: 20 }).not.toBeNull();
  const lock = holdWriteLock(databaseFile);
  let refused: HttpResult;
  try {
    refused = await pending;
  } finally {
    lock.release();
  }
  return { openid, phoneNumber, refused, ticketRow, register };
}

async function userByOpenid(openid: string) {
  const [row] = await api.deps.db.query<{ phone: string | null }>(
    "SELECT phone FROM users WHERE openid = ?",
    [openid],
  );
  return row ?? null;
}

describe("a registration the database refuses halfway (the lock arrives while WeChat answers)", () => {
  it("answers 503, writes no account and leaves the ticket unused; the ticket redeems once its lease is over", async () => {
    const { openid, phoneNumber, refused, ticketRow, register } =
      await registrationRefusedByTheDatabase();
    expectDatabaseUnavailable(refused);
    expect(await userByOpenid(openid)).toBeNull();
    expect((await ticketRow()).usedAt).toBeNull();
    expect((await api.deps.db.query("SELECT id FROM users WHERE phone IS NULL")).length).toBe(0);

    // Past any lease, well inside the ticket's 10 minutes.
    api.clock.advance(60_000);
    const retried = await register();
    expect(retried.status).toBe(201);
    const user = await userByOpenid(openid);
    expect(user?.phone).toBe(`+86${phoneNumber}`);
  });
});

describe("an unavailable database (the client reconnects to a path it cannot open)", () => {
  it("answers 503 fast on every route that needs it, /api/health/ready says 503, and all recover without a restart", async () => {
    const session = await api.register();
    const { code } = await api.loginCode({ openid: session.openid });

    // A closed database reopens on the next statement; a directory at the database's path cannot be
    // opened (SQLITE_CANTOPEN), which is what a missing volume or a bad mount looks like.
    await api.deps.db.close();
    renameSync(databaseFile, `${databaseFile}.away`);
    mkdirSync(databaseFile);
    try {
      const results = await requestsDuringTheOutage(api, session, code);
      for (const [name, result] of Object.entries(results)) {
        expectDatabaseUnavailable(result);
        // Nothing waits on a database that is not there: WeChat's answer plus the API's own work.
        expect(result.elapsedMs, name).toBeLessThan(SLACK_MS);
      }
      reportLatencies("unavailable database, 503 latencies (ms)", results);
    } finally {
      rmdirSync(databaseFile);
      renameSync(`${databaseFile}.away`, databaseFile);
    }

    await expectServing(api, session);
  });

  // Was a bug: a reconnect to a missing file created an empty database (health 200, routes 500).
  // db/client.ts now opens with `fileMustExist: true`, and the health check touches a real table.
  it("a missing database file gives 503, not 500, and no empty database in its place", async () => {
    const session = await api.register();
    await api.deps.db.close();
    renameSync(databaseFile, `${databaseFile}.away`);
    let health: HttpResult | undefined;
    let me: HttpResult | undefined;
    let replacedByEmptyDatabase = false;
    try {
      health = await api.request("GET", "/api/health/ready");
      me = await api.request("GET", "/api/me", { token: session.accessToken });
      replacedByEmptyDatabase = existsSync(databaseFile);
    } finally {
      await api.deps.db.close();
      renameSync(`${databaseFile}.away`, databaseFile);
    }
    expect(ErrorBodySchema.safeParse(me?.body).success).toBe(true);
    expect(me?.status).toBe(503);
    expect(health?.status).toBe(503);
    expect(replacedByEmptyDatabase).toBe(false);
  });
});

describe("a database unreachable from the start", () => {
  it("readiness and routes answer 503, never hang or 500", async () => {
    const unreachable = await createDatabase("file:/nonexistent-wxauth-dir/none.db");
    const broken = await startTestApi({ overrides: { db: unreachable } });
    try {
      const health = await broken.request("GET", "/api/health/ready");
      expect(health.status).toBe(503);
      expectErrorBody(health, "SERVICE_UNAVAILABLE");
      const { code } = await broken.loginCode();
      const login = await broken.request("POST", "/api/auth/wechat/login", { body: { code } });
      expect(login.status).toBe(503);
      expectErrorBody(login, "SERVICE_UNAVAILABLE");
    } finally {
      await broken.close();
    }
  });
});
