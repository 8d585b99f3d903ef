/*
 * `applyMigrations` skips the Prisma CLI (seconds of every start) only on a database whose
 * `_prisma_migrations` matches the migrations on disk exactly; anything else still goes through
 * `prisma migrate deploy`, which applies, or reports, what it finds.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Sqlite from "better-sqlite3";
import pg from "pg";
import { afterEach, describe, expect, inject, it } from "vitest";
import { API_ROOT } from "../config.js";
import { createSuiteDatabase, suiteDatabaseKind, type SuiteDatabase } from "../testing/harness.js";
import {
  createTestDatabase,
  dropTestDatabase,
  uniqueTestDatabaseName,
} from "../testing/postgres.js";
import { createDatabase, sqlitePathOf } from "./client.js";
import { applyMigrations } from "./migrate.js";

/** Each case runs the CLI at least once: seconds on a quiet machine, far more on a busy one. */
const CLI_TIMEOUT_MS = 120_000;

/** A migration that only creates a table of its own, so undoing it is one DROP TABLE. */
const AVATARS_MIGRATION = "20261121003800_avatars";

const kind = suiteDatabaseKind();
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A database that does not exist yet (SQLite) or is empty (PostgreSQL). */
async function emptyDatabase(): Promise<string> {
  const testDatabase = inject("testDatabase");
  if (testDatabase.kind === "postgres") {
    // Named after the template, so the run's teardown drops it even if this suite crashes.
    const name = uniqueTestDatabaseName(testDatabase.template);
    const url = await createTestDatabase(name);
    cleanups.push(() => dropTestDatabase(name));
    return url;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "wxauth-api-migrate-"));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return `file:${path.join(dir, "api.db")}`;
}

async function migratedDatabase(): Promise<SuiteDatabase> {
  const database = await createSuiteDatabase();
  cleanups.push(() => database.drop());
  return database;
}

/** Runs SQL statements on the database from a connection of the test's own. */
async function execute(databaseUrl: string, ...statements: string[]): Promise<unknown[][]> {
  let rows: unknown[][] = [];
  if (kind === "postgres") {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      for (const text of statements) rows = (await client.query({ text, rowMode: "array" })).rows;
    } finally {
      await client.end();
    }
    return rows;
  }
  const connection = new Sqlite(sqlitePathOf(databaseUrl), { fileMustExist: true });
  try {
    for (const sql of statements) {
      const statement = connection.prepare(sql);
      rows = statement.reader ? (statement.raw().all() as unknown[][]) : (statement.run(), []);
    }
  } finally {
    connection.close();
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

const migrationsDir = path.join(API_ROOT, "prisma", kind, "migrations");
const migrationNamesOnDisk = readdirSync(migrationsDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

describe(`applyMigrations (${kind})`, () => {
  it(
    "migrates a new database through the CLI, then finds it up to date without the CLI, also while the API has it open and after it closed it",
    async () => {
      const url = await emptyDatabase();
      expect(await applyMigrations(url)).toBe("deployed");
      expect(await appliedMigrationNames(url)).toEqual(migrationNamesOnDisk);

      // A restart: the API has used the database (on SQLite, that switches it to WAL mode), another
      // instance may still have it open.
      const db = await createDatabase(url);
      try {
        await db.query("SELECT id FROM users");
        expect(await applyMigrations(url)).toBe("up-to-date");
      } finally {
        await db.close();
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
