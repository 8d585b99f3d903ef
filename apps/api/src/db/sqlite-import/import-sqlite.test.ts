/*
 * The move of a SQLite deployment to PostgreSQL: a SQLite file made by the SQLite migrations of
 * the last version that had them (./old-sqlite-migrations, kept as this test's fixture), holding
 * what that version wrote, goes through `db:import-sqlite` into a new PostgreSQL database, and the
 * API then serves those users: their refresh tokens, sessions and avatars.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import {
  SessionListSchema,
  TokenPairSchema,
  UserSchema,
  WechatLoginResponseSchema,
} from "@wxauth/contracts";
import Sqlite from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { hashOpaqueToken } from "../../auth/opaque-tokens.js";
import { avatarPath } from "../../avatars/avatar-url.js";
import { API_ROOT } from "../../config.js";
import { createSuiteDatabase, startTestApi, type SuiteDatabase } from "../../testing/harness.js";
import { solidPng } from "../../testing/png.js";
import { createDatabase } from "../client.js";
import { importSqlite } from "./import-sqlite.js";

const run = promisify(execFile);
const scratch = mkdtempSync(path.join(os.tmpdir(), "wxauth-sqlite-import-"));
const databases: SuiteDatabase[] = [];
afterAll(async () => {
  for (const database of databases) await database.drop();
  rmSync(scratch, { recursive: true, force: true });
});

async function postgresDatabase(): Promise<SuiteDatabase> {
  const database = await createSuiteDatabase();
  databases.push(database);
  return database;
}

const OLD_MIGRATIONS = path.join(import.meta.dirname, "old-sqlite-migrations");

/** A SQLite file as the last SQLite version left it: every one of its migrations applied. */
function oldSqliteDatabase(name: string, { migrations = Infinity } = {}): Sqlite.Database {
  const sqlite = new Sqlite(path.join(scratch, name));
  for (const migration of readdirSync(OLD_MIGRATIONS).sort().slice(0, migrations)) {
    sqlite.exec(readFileSync(path.join(OLD_MIGRATIONS, migration, "migration.sql"), "utf8"));
  }
  return sqlite;
}

/** Dates as that version wrote them: ISO 8601 text with an explicit offset. */
const written = (date: Date) => date.toISOString().replace("Z", "+00:00");

const REFRESH_TOKEN = "imported-refresh-token-of-the-old-sqlite-deployment-0001";
const AVATAR_ID = "6f1c3c8e-4b7a-4d2e-9a51-2f0e8d7c6b5a";
const AVATAR = solidPng(4, 4, [200, 30, 30]);

/** One user of the old deployment with everything the API stored for them. */
function fillOldDatabase(sqlite: Sqlite.Database): void {
  const now = new Date();
  const later = new Date(now.getTime() + 30 * 86_400_000);
  const insert = (sql: string, ...values: unknown[]) => sqlite.prepare(sql).run(...values);
  insert(
    `INSERT INTO users (id, phone, openid, unionid, nickname, avatar_url, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    "user-1",
    "+8613800138000",
    "openid-of-the-old-user",
    null,
    "老用户",
    `https://api.example.com${avatarPath(AVATAR_ID)}`,
    written(now),
    written(now),
  );
  insert(
    `INSERT INTO wechat_session_keys (id, openid, session_key_ciphertext, obtained_at, updated_at)
      VALUES (?, ?, ?, ?, ?)`,
    "key-1",
    "openid-of-the-old-user",
    "sealed-session-key",
    written(now),
    written(now),
  );
  // created_at from SQLite's own default: text without an offset, in UTC.
  insert(
    `INSERT INTO refresh_token_families (id, user_id, device_platform, device_model, last_used_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?)`,
    "session-1",
    "user-1",
    "ios",
    "iPhone 15",
    written(now),
    written(now),
  );
  insert(
    `INSERT INTO refresh_tokens (id, family_id, token_hash, expires_at, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?)`,
    "token-1",
    "session-1",
    hashOpaqueToken(REFRESH_TOKEN),
    written(later),
    written(now),
    written(now),
  );
  insert(
    `INSERT INTO avatars (id, user_id, content_type, bytes, byte_length, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)`,
    AVATAR_ID,
    "user-1",
    "image/png",
    AVATAR,
    AVATAR.byteLength,
    written(now),
    written(now),
  );
}

describe("db:import-sqlite", () => {
  it("moves an old SQLite deployment into PostgreSQL, and the API serves its users", async () => {
    const sqlite = oldSqliteDatabase("old.db");
    fillOldDatabase(sqlite);
    sqlite.close();
    const target = await postgresDatabase();

    // The command as an operator runs it, from the repository's root.
    const { stdout } = await run(
      "pnpm",
      ["--filter", "@wxauth/api", "db:import-sqlite", path.join(scratch, "old.db")],
      { cwd: path.join(API_ROOT, "..", ".."), env: { ...process.env, DATABASE_URL: target.url } },
    );
    expect(stdout).toContain(
      '{"users":1,"wechat_session_keys":1,"registration_tickets":0,"sessions":1,"refresh_tokens":1,"avatars":1}',
    );

    const api = await startTestApi({ env: { DATABASE_URL: target.url } });
    try {
      const refreshed = await api.request("POST", "/api/auth/refresh", {
        body: { refreshToken: REFRESH_TOKEN },
      });
      expect(refreshed.status, refreshed.text).toBe(200);
      const { accessToken } = TokenPairSchema.parse(refreshed.body);
      const me = UserSchema.parse(
        (await api.request("GET", "/api/me", { token: accessToken })).body,
      );
      expect(me).toMatchObject({ id: "user-1", phone: "+8613800138000", nickname: "老用户" });
      const sessions = SessionListSchema.parse(
        (await api.request("GET", "/api/me/sessions", { token: accessToken })).body,
      ).sessions;
      expect(sessions).toEqual([
        expect.objectContaining({
          id: "session-1",
          device: { platform: "ios", model: "iPhone 15" },
        }),
      ]);
      const avatar = await api.raw({ path: avatarPath(AVATAR_ID) });
      expect(avatar.status).toBe(200);
      expect(avatar.headers["content-type"]).toBe("image/png");
      const { code } = await api.loginCode({ openid: "openid-of-the-old-user" });
      expect(WechatLoginResponseSchema.parse(await api.login(code)).status).toBe("authenticated");
    } finally {
      await api.close();
    }
  }, 120_000);

  it("imports nothing into a database that already has users, nor from an older SQLite schema", async () => {
    const target = await postgresDatabase();
    const db = createDatabase(target.url);
    try {
      const current = oldSqliteDatabase("current.db");
      fillOldDatabase(current);
      current.close();
      const older = oldSqliteDatabase("older.db", { migrations: 3 });
      older.close();
      await expect(importSqlite(path.join(scratch, "older.db"), db)).rejects.toThrow(
        /lacks .*users\.deletion_scheduled_at.*Start that version once/,
      );

      await importSqlite(path.join(scratch, "current.db"), db);
      await expect(importSqlite(path.join(scratch, "current.db"), db)).rejects.toThrow(
        /already holds users/,
      );
      expect(await db.selectFrom("users").select("id").execute()).toEqual([{ id: "user-1" }]);
    } finally {
      await db.destroy();
    }
  });
});
