/*
 * The main journeys on the embedded PostgreSQL of `pnpm dev`, started as `pnpm dev` starts it (its
 * own process, src/dev-database/main.ts) and migrated by the API's own migrate step: sign-up by
 * the phone button and by SMS, login, refresh, revoking a session, an immediate deletion and its
 * purge. Then the database closes and opens again on the same folder, with the data kept.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  AuthenticatedSchema,
  DeletionScheduledSchema,
  RegistrationRequiredSchema,
  SessionListSchema,
  TokenPairSchema,
  UserSchema,
} from "@wxauth/contracts";
import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_ROOT } from "../config.js";
import type { Database } from "../db/client.js";
import { applyMigrations } from "../db/migrate.js";
import { reportFigure } from "../testing/figures.js";
import { STATEMENT_SWEEP_MS } from "./embedded-postgres.js";
import {
  expectErrorBody,
  startTestApi,
  uniquePhoneNumber,
  type TestApi,
} from "../testing/harness.js";
import { freePort, startNodeProcess, type NodeProcess } from "../testing/node-process.js";

const dataDir = mkdtempSync(path.join(os.tmpdir(), "wxauth-embedded-postgres-"));
let port: number;
let databaseUrl: string;
let database: NodeProcess | undefined;
let api: TestApi | undefined;

/** `pnpm --filter @wxauth/api dev:database`, on a port and a folder of the test's own. */
async function startEmbeddedDatabase(): Promise<{ url: string; openedMs: number }> {
  const started = performance.now();
  database = await startNodeProcess(path.join(API_ROOT, "src", "dev-database", "main.ts"), {
    name: "the embedded PostgreSQL",
    nodeArgs: ["--import", "tsx"],
    cwd: API_ROOT,
    env: { DEV_DATABASE_PORT: String(port), DEV_DATABASE_DIR: dataDir },
    ready: (output) => output.includes("embedded PostgreSQL (PGlite) on"),
    // The first open runs initdb: seconds on a quiet machine, far more on a busy one.
    startTimeoutMs: 120_000,
  });
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    openedMs: Math.round(performance.now() - started),
  };
}

async function startApiOnIt(url: string): Promise<TestApi> {
  expect(["deployed", "up-to-date"]).toContain(await applyMigrations(url));
  return startTestApi({ env: { DATABASE_URL: url, ACCOUNT_DELETION_COOLING_OFF_S: "0" } });
}

beforeAll(async () => {
  port = await freePort();
  const { url, openedMs } = await startEmbeddedDatabase();
  databaseUrl = url;
  reportFigure("embedded PostgreSQL: first open, initdb included (ms)", openedMs);
  expect(await applyMigrations(url)).toBe("deployed");
  api = await startApiOnIt(url);
}, 240_000);

afterAll(async () => {
  await api?.close();
  await database?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the main journeys on the embedded PostgreSQL", () => {
  let phoneUser: { openid: string; accessToken: string; refreshToken: string; userId: string };

  it("a new WeChat user signs up with the phone button, then logs in again", async () => {
    const registered = await api!.register();
    expect(registered.user.phone).toMatch(/^\+86139/);
    phoneUser = { ...registered, userId: registered.user.id };

    const { code } = await api!.loginCode({ openid: registered.openid });
    const again = await api!.login(code);
    expect(again.status).toBe("authenticated");
    const me = await api!.request("GET", "/api/me", {
      token: AuthenticatedSchema.parse(again).accessToken,
    });
    expect(me.status).toBe(200);
    expect(UserSchema.parse(me.body).id).toBe(registered.user.id);
  });

  it("a new WeChat user signs up with an SMS code", async () => {
    const { code } = await api!.loginCode();
    const { registrationTicket } = RegistrationRequiredSchema.parse(await api!.login(code));
    const phone = `+86${uniquePhoneNumber()}`;
    const sent = await api!.request("POST", "/api/auth/sms/send", {
      body: { registrationTicket, phone },
    });
    expect(sent.status, sent.text).toBe(200);
    const smsCode = api!.smsCode(phone);
    expect(smsCode).toMatch(/^\d{6}$/);
    const registered = await api!.request("POST", "/api/auth/wechat/register", {
      body: { registrationTicket, phone, smsCode },
    });
    expect(registered.status, registered.text).toBe(201);
    expect(AuthenticatedSchema.parse(registered.body).user.phone).toBe(phone);
  });

  it("refresh rotates the refresh token into a pair that works", async () => {
    const refreshed = await api!.request("POST", "/api/auth/refresh", {
      body: { refreshToken: phoneUser.refreshToken },
    });
    expect(refreshed.status, refreshed.text).toBe(200);
    const pair = TokenPairSchema.parse(refreshed.body);
    expect(pair.refreshToken).not.toBe(phoneUser.refreshToken);
    expect((await api!.request("GET", "/api/me", { token: pair.accessToken })).status).toBe(200);
    phoneUser = { ...phoneUser, ...pair };
  });

  it("a session revoked from the list of another stops working at once", async () => {
    const { code } = await api!.loginCode({ openid: phoneUser.openid });
    const tablet = AuthenticatedSchema.parse(await api!.login(code));
    const listed = await api!.request("GET", "/api/me/sessions", { token: phoneUser.accessToken });
    expect(listed.status).toBe(200);
    const others = SessionListSchema.parse(listed.body).sessions.filter((s) => !s.current);
    // The tablet's is the newest of the others (the first journey's login is one too).
    const revoked = await api!.request("DELETE", `/api/me/sessions/${others[0]!.id}`, {
      token: phoneUser.accessToken,
    });
    expect(revoked.status).toBe(204);
    expectErrorBody(
      await api!.request("GET", "/api/me", { token: tablet.accessToken }),
      "UNAUTHORIZED",
    );
    expectErrorBody(
      await api!.request("POST", "/api/auth/refresh", {
        body: { refreshToken: tablet.refreshToken },
      }),
      "REFRESH_TOKEN_INVALID",
    );
    expect((await api!.request("GET", "/api/me", { token: phoneUser.accessToken })).status).toBe(
      200,
    );
  });

  it("an immediate deletion purges the account: the next login starts a sign-up", async () => {
    const deletion = await api!.request("POST", "/api/me/deletion", {
      token: phoneUser.accessToken,
    });
    expect(deletion.status, deletion.text).toBe(202);
    DeletionScheduledSchema.parse(deletion.body);
    expect(
      await api!.deps.db
        .selectFrom("users")
        .select("id")
        .where("id", "=", phoneUser.userId)
        .execute(),
    ).toEqual([]);
    const { code } = await api!.loginCode({ openid: phoneUser.openid });
    expect((await api!.login(code)).status).toBe("registration_required");
  });

  // The connections share one PGlite backend: a statement name prepared by two of them, or by a
  // restarted API and the one before it, would collide there ("already exists").
  it("statements prepared at once on every connection, and again after a restart, all run", async () => {
    // One statement with a parameter, 100 times at once: each answers its own value.
    const burst = async (db: Database) => {
      const results = await Promise.allSettled(
        Array.from({ length: 100 }, (_, i) =>
          sql<{ n: number }>`select ${i}::int as n`.execute(db),
        ),
      );
      expect(results.filter((result) => result.status === "rejected")).toEqual([]);
      expect(
        results.map((result) => (result.status === "fulfilled" ? result.value.rows[0]?.n : null)),
      ).toEqual(Array.from({ length: 100 }, (_, i) => i));
    };
    await burst(api!.deps.db);
    await api!.close();
    api = await startApiOnIt(databaseUrl);
    await burst(api.deps.db);
  });

  it("drops the prepared statements once no connection is open", async () => {
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from pg_prepared_statements`.execute(api!.deps.db);
    expect(rows[0]?.n).toBeGreaterThan(0);
    await api!.close();
    api = undefined;
    const preparedStatements = async () => {
      const client = new pg.Client(databaseUrl);
      await client.connect();
      try {
        const { rows } = await client.query(
          "select count(*)::int as n from pg_prepared_statements",
        );
        return (rows[0] as { n: number }).n;
      } finally {
        await client.end();
      }
    };
    await expect.poll(preparedStatements, { timeout: 10 * STATEMENT_SWEEP_MS }).toBe(0);
    api = await startApiOnIt(databaseUrl);
  });

  it("closes cleanly and opens again on the same folder with the accounts kept", async () => {
    const accounts = await api!.deps.db.selectFrom("users").select("id").execute();
    expect(accounts.length).toBeGreaterThanOrEqual(1);
    await api!.close();
    api = undefined;
    expect(await database!.stop()).toBe(0);

    const { url, openedMs } = await startEmbeddedDatabase();
    reportFigure("embedded PostgreSQL: a later open (ms)", openedMs);
    api = await startApiOnIt(url);
    expect(await api.deps.db.selectFrom("users").select("id").execute()).toEqual(accounts);
  }, 120_000);
});
