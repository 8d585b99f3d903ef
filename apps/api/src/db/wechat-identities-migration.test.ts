/*
 * The migration to several apps (20261213090000_wechat_identities) on a database of a single-app
 * deployment: every user, session, token, session key and ticket survives it, the openids become
 * identities, and the API's start-up adoption hands them all to its first configured app. Then the
 * old users sign in as before: the same account, no registration asked, old refresh tokens work.
 */
import { createHash, randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { hashOpaqueToken } from "../auth/opaque-tokens.js";
import { API_ROOT } from "../config.js";
import { startTestApi, type TestApi } from "../testing/harness.js";
import {
  createTestDatabase,
  dropTestDatabase,
  uniqueTestDatabaseName,
} from "../testing/postgres.js";
import { adoptUnadopted } from "../wechat/adopt-unadopted.js";
import { createDatabase } from "./client.js";
import { createDataAccess } from "./data-access.js";
import { applyMigrations } from "./migrate.js";

const MIGRATION = "20261213090000_wechat_identities";
const CLI_TIMEOUT_MS = 120_000;
/** The openids of the single-app deployment's users, as the sandbox's first app knows them. */
const OLD_OPENIDS = ["o-old-1", "o-old-2"];
const OLD_REFRESH_TOKEN = "an-old-refresh-token-of-user-1-0000000000";

const migrationsDir = path.join(API_ROOT, "prisma", "migrations");
const previousMigrations = readdirSync(migrationsDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name < MIGRATION)
  .map((entry) => entry.name)
  .sort();

/** Prisma's own bookkeeping table, as `migrate deploy` creates it. */
const PRISMA_MIGRATIONS_TABLE = `CREATE TABLE "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

let name: string;
let url: string;

async function execute(
  text: string,
  values: unknown[] = [],
): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as Array<Record<string, unknown>>;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  // Named after the run's template, so its teardown drops it even if this suite crashes.
  name = uniqueTestDatabaseName(inject("testDatabase").template);
  url = await createTestDatabase(name);
  // The database as the previous release left it: every earlier migration, recorded as Prisma does.
  await execute(PRISMA_MIGRATIONS_TABLE);
  for (const migration of previousMigrations) {
    const script = readFileSync(path.join(migrationsDir, migration, "migration.sql"), "utf8");
    await execute(script);
    await execute(
      `INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count)
        VALUES ($1, $2, now(), $3, 1)`,
      [randomUUID(), createHash("sha256").update(script).digest("hex"), migration],
    );
  }
  // Its data: two WeChat users (one with a unionid), a user without WeChat, their sessions.
  await execute(
    `INSERT INTO users (id, phone, openid, unionid, created_at, updated_at) VALUES
      ('u1', '+8613800000001', 'o-old-1', 'un-old-1', '2026-01-01', '2026-01-01'),
      ('u2', '+8613800000002', 'o-old-2', NULL, '2026-02-01', '2026-02-01'),
      ('u3', '+8613800000003', NULL, NULL, '2026-03-01', '2026-03-01')`,
  );
  await execute(
    `INSERT INTO wechat_session_keys (id, openid, unionid, session_key_ciphertext, obtained_at, created_at, updated_at)
      VALUES ('k1', 'o-old-1', 'un-old-1', 'sealed', now(), now(), now())`,
  );
  await execute(
    `INSERT INTO registration_tickets (id, token_hash, openid, wechat_session_key_id, expires_at, created_at, updated_at)
      VALUES ('t1', 'ticket-hash', 'o-old-1', 'k1', now() + interval '5 minutes', now(), now())`,
  );
  await execute(
    `INSERT INTO sessions (id, user_id, device_model, created_at, updated_at) VALUES
      ('s1', 'u1', 'iPhone 15', now(), now()),
      ('s2', 'u2', NULL, now(), now())`,
  );
  await execute(
    `INSERT INTO refresh_tokens (id, session_id, token_hash, expires_at, created_at, updated_at) VALUES
      ('r1', 's1', $1, now() + interval '1 day', now(), now())`,
    [hashOpaqueToken(OLD_REFRESH_TOKEN)],
  );
}, CLI_TIMEOUT_MS);

afterAll(async () => {
  await dropTestDatabase(name);
});

describe("the migration to several apps on a single-app database", () => {
  let api: TestApi;
  afterAll(() => api?.close());

  it(
    "keeps every user, session, token, session key and ticket; openids become identities",
    async () => {
      expect(await applyMigrations(url)).toBe("deployed");
      expect(await execute("SELECT id, phone, unionid FROM users ORDER BY id")).toEqual([
        { id: "u1", phone: "+8613800000001", unionid: "un-old-1" },
        { id: "u2", phone: "+8613800000002", unionid: null },
        { id: "u3", phone: "+8613800000003", unionid: null },
      ]);
      expect(
        await execute(
          "SELECT user_id, appid, openid, created_at FROM wechat_identities ORDER BY user_id",
        ),
      ).toEqual([
        {
          user_id: "u1",
          appid: "unadopted",
          openid: "o-old-1",
          created_at: new Date("2026-01-01"),
        },
        {
          user_id: "u2",
          appid: "unadopted",
          openid: "o-old-2",
          created_at: new Date("2026-02-01"),
        },
      ]);
      expect(await execute("SELECT id, user_id, appid FROM sessions ORDER BY id")).toEqual([
        { id: "s1", user_id: "u1", appid: "unadopted" },
        { id: "s2", user_id: "u2", appid: "unadopted" },
      ]);
      expect(await execute("SELECT id, session_id FROM refresh_tokens")).toEqual([
        { id: "r1", session_id: "s1" },
      ]);
      expect(await execute("SELECT id, appid, openid FROM wechat_session_keys")).toEqual([
        { id: "k1", appid: "unadopted", openid: "o-old-1" },
      ]);
      expect(await execute("SELECT id, appid, openid FROM registration_tickets")).toEqual([
        { id: "t1", appid: "unadopted", openid: "o-old-1" },
      ]);
    },
    CLI_TIMEOUT_MS,
  );

  it("the start-up adoption gives every row to the first configured app, once", async () => {
    api = await startTestApi({ env: { DATABASE_URL: url } });
    const appid = api.deps.apps.primary.appid;
    const logger = pino({ level: "silent" });
    const db = createDatabase(url);
    try {
      const data = createDataAccess(db);
      expect(await adoptUnadopted(data, appid, logger)).toEqual({
        wechatIdentities: 2,
        wechatSessionKeys: 1,
        registrationTickets: 1,
        sessions: 2,
      });
      // A second start (or a second instance) finds nothing left.
      expect(await adoptUnadopted(data, appid, logger)).toEqual({
        wechatIdentities: 0,
        wechatSessionKeys: 0,
        registrationTickets: 0,
        sessions: 0,
      });
    } finally {
      await db.destroy();
    }
    for (const table of [
      "wechat_identities",
      "wechat_session_keys",
      "registration_tickets",
      "sessions",
    ]) {
      expect(await execute(`SELECT DISTINCT appid FROM ${table}`)).toEqual([{ appid }]);
    }
  });

  it("the old users sign in as before: same account, no phone asked, old refresh token works", async () => {
    for (const [index, openid] of OLD_OPENIDS.entries()) {
      const answer = await api.login((await api.loginCode({ openid })).code);
      expect(answer.status).toBe("authenticated");
      if (answer.status === "authenticated") expect(answer.user.id).toBe(`u${index + 1}`);
    }
    const refreshed = await api.request("POST", "/api/auth/refresh", {
      body: { refreshToken: OLD_REFRESH_TOKEN },
    });
    expect(refreshed.status).toBe(200);
    const { accessToken } = refreshed.body as { accessToken: string };
    const me = await api.request("GET", "/api/me", { token: accessToken });
    expect(me.body).toMatchObject({
      id: "u1",
      identities: [{ appid: api.deps.apps.primary.appid, name: "default" }],
    });
    const sessions = await api.request("GET", "/api/me/sessions", { token: accessToken });
    expect(sessions.body).toMatchObject({
      sessions: expect.arrayContaining([
        expect.objectContaining({
          id: "s1",
          device: { model: "iPhone 15" },
          app: { appid: api.deps.apps.primary.appid, name: "default" },
        }),
      ]),
    });
  });
});
