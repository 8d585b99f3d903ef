import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterEach, describe, expect, inject, it } from "vitest";
import { API_ROOT } from "../config.js";
import { createSuiteDatabase, type SuiteDatabase } from "../testing/harness.js";
import {
  createTestDatabase,
  dropTestDatabase,
  uniqueTestDatabaseName,
} from "../testing/postgres.js";
import { createDatabase } from "./client.js";
import { applyMigrations } from "./migrate.js";

/** Each case runs the CLI at least once: seconds on a quiet machine, far more on a busy one. */
const CLI_TIMEOUT_MS = 120_000;

/** A migration that only creates a table of its own, so undoing it is one DROP TABLE. */
const AVATARS_MIGRATION = "20261121003800_avatars";
/** The migration that renamed refresh_token_families (and its family_id) to sessions. */
const SESSIONS_MIGRATION = "20261212090000_sessions";

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An empty database. */
async function emptyDatabase(): Promise<string> {
  // Named after the template, so the run's teardown drops it even if this suite crashes.
  const name = uniqueTestDatabaseName(inject("testDatabase").template);
  const url = await createTestDatabase(name);
  cleanups.push(() => dropTestDatabase(name));
  return url;
}

async function migratedDatabase(): Promise<SuiteDatabase> {
  const database = await createSuiteDatabase();
  cleanups.push(() => database.drop());
  return database;
}

/** Runs SQL statements on the database from a connection of the test's own; the last one's rows. */
async function execute(databaseUrl: string, ...statements: string[]): Promise<unknown[][]> {
  let rows: unknown[][] = [];
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const text of statements) rows = (await client.query({ text, rowMode: "array" })).rows;
  } finally {
    await client.end();
  }
  return rows;
}

/** Names of the migrations the database records as applied, in order. */
async function appliedMigrationNames(databaseUrl: string): Promise<string[]> {
  const rows = await execute(
    databaseUrl,
    "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY 1",
  );
  return rows.map(([name]) => String(name));
}

const migrationsDir = path.join(API_ROOT, "prisma", "migrations");
const migrationNamesOnDisk = readdirSync(migrationsDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

describe("applyMigrations", () => {
  it(
    "migrates a new database through the CLI, then finds it up to date without the CLI, also while the API has it open and after it closed it",
    async () => {
      const url = await emptyDatabase();
      expect(await applyMigrations(url)).toBe("deployed");
      expect(await appliedMigrationNames(url)).toEqual(migrationNamesOnDisk);

      // A restart: another instance may still have the database open.
      const db = createDatabase(url);
      try {
        await db.selectFrom("users").select("id").execute();
        expect(await applyMigrations(url)).toBe("up-to-date");
      } finally {
        await db.destroy();
      }
      expect(await applyMigrations(url)).toBe("up-to-date");
    },
    CLI_TIMEOUT_MS,
  );

  it(
    "applies a pending migration through the CLI",
    async () => {
      const { url } = await migratedDatabase();
      expect(await applyMigrations(url)).toBe("up-to-date");
      await execute(
        url,
        `DELETE FROM _prisma_migrations WHERE migration_name = '${AVATARS_MIGRATION}'`,
        'DROP TABLE "avatars"',
      );

      expect(await applyMigrations(url)).toBe("deployed");
      expect(await appliedMigrationNames(url)).toEqual(migrationNamesOnDisk);
      expect(await execute(url, 'SELECT count(*) FROM "avatars"')).toEqual([[expect.anything()]]);
      expect(await applyMigrations(url)).toBe("up-to-date");
    },
    CLI_TIMEOUT_MS,
  );

  it(
    "moves a database of the previous migrations forward with its sessions and tokens: the tables are renamed, not rebuilt",
    async () => {
      const { url } = await migratedDatabase();
      // Back to the schema before the rename, with a session and its token in it.
      await execute(
        url,
        `DELETE FROM _prisma_migrations WHERE migration_name = '${SESSIONS_MIGRATION}'`,
        'ALTER TABLE "sessions" RENAME TO "refresh_token_families"',
        'ALTER TABLE "refresh_token_families" RENAME CONSTRAINT "sessions_pkey" TO "refresh_token_families_pkey"',
        'ALTER TABLE "refresh_token_families" RENAME CONSTRAINT "sessions_user_id_fkey" TO "refresh_token_families_user_id_fkey"',
        'ALTER INDEX "sessions_user_id_idx" RENAME TO "refresh_token_families_user_id_idx"',
        'ALTER TABLE "refresh_tokens" RENAME COLUMN "session_id" TO "family_id"',
        'ALTER TABLE "refresh_tokens" RENAME CONSTRAINT "refresh_tokens_session_id_fkey" TO "refresh_tokens_family_id_fkey"',
        'ALTER INDEX "refresh_tokens_session_id_idx" RENAME TO "refresh_tokens_family_id_idx"',
        `INSERT INTO users (id, phone, created_at, updated_at) VALUES ('u1', '+8613800138000', now(), now())`,
        // (appid: a column of later migrations, which stay applied.)
        `INSERT INTO refresh_token_families (id, user_id, appid, device_model, created_at, updated_at)
          VALUES ('f1', 'u1', 'wx1', 'iPhone 15', now(), now())`,
        `INSERT INTO refresh_tokens (id, family_id, token_hash, expires_at, created_at, updated_at)
          VALUES ('t1', 'f1', 'hash-1', now() + interval '1 day', now(), now())`,
      );

      expect(await applyMigrations(url)).toBe("deployed");
      const db = createDatabase(url);
      try {
        expect(
          await db
            .selectFrom("refresh_tokens as t")
            .innerJoin("sessions as s", "s.id", "t.session_id")
            .select(["t.token_hash", "s.id", "s.user_id", "s.device_model"])
            .execute(),
        ).toEqual([{ token_hash: "hash-1", id: "f1", user_id: "u1", device_model: "iPhone 15" }]);
      } finally {
        await db.destroy();
      }
    },
    CLI_TIMEOUT_MS,
  );

  it(
    "hands a migration whose checksum differs from its file to the CLI",
    async () => {
      const { url } = await migratedDatabase();
      const [initMigration] = migrationNamesOnDisk;
      // The checksum Prisma records is the SHA-256 of the file, which is what makes this a mismatch.
      const [[recorded]] = (await execute(
        url,
        `SELECT checksum FROM _prisma_migrations WHERE migration_name = '${initMigration}'`,
      )) as [[unknown]];
      const script = readFileSync(path.join(migrationsDir, String(initMigration), "migration.sql"));
      expect(recorded).toBe(createHash("sha256").update(script).digest("hex"));

      await execute(
        url,
        `UPDATE _prisma_migrations SET checksum = '${"0".repeat(64)}' WHERE migration_name = '${initMigration}'`,
      );
      // `migrate deploy` itself accepts an edited migration; what matters is that it decided.
      expect(await applyMigrations(url)).toBe("deployed");
    },
    CLI_TIMEOUT_MS,
  );

  it(
    "leaves a failed migration to the CLI, which refuses to start (P3009)",
    async () => {
      const { url } = await migratedDatabase();
      await execute(
        url,
        `UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = '${AVATARS_MIGRATION}'`,
      );
      await expect(applyMigrations(url)).rejects.toThrow(/P3009/);
    },
    CLI_TIMEOUT_MS,
  );
});
