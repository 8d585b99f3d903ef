import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { API_ROOT } from "../config.js";
import { sql } from "kysely";
import { createDatabase } from "./client.js";

/**
 * How many times a start-up retries when another instance holds the migration lock. Prisma waits
 * 10 s for PostgreSQL's advisory lock and then gives up (P1002); instances that start together
 * wait their turn instead of crashing, and find nothing left to apply.
 */
const LOCK_ATTEMPTS = 6;

/**
 * What `applyMigrations` did: `up-to-date` when every migration was already applied and the CLI
 * was not run, `deployed` when `prisma migrate deploy` ran and succeeded (applying whatever was
 * pending, possibly nothing).
 */
export type MigrationOutcome = "up-to-date" | "deployed";

/**
 * Applies pending migrations with `prisma migrate deploy`, through the Prisma CLI and
 * apps/api/prisma.config.ts (JS schema engine, driver adapter: no binary, works offline).
 *
 * Starting the CLI costs seconds, most of a restart, and a restart almost always finds nothing to
 * apply; so Prisma's own record of applied migrations is read first, and the CLI runs only when it
 * does not match the migrations on disk exactly.
 */
export async function applyMigrations(databaseUrl: string): Promise<MigrationOutcome> {
  if (await allMigrationsApplied(databaseUrl)) return "up-to-date";
  for (let attempt = 1; ; attempt += 1) {
    const { exitCode, output } = await migrateDeploy(databaseUrl);
    if (exitCode === 0) return "deployed";
    const lockedByAnother = /advisory lock/i.test(output);
    if (!lockedByAnother || attempt === LOCK_ATTEMPTS) {
      throw new Error(`prisma migrate deploy failed (exit ${exitCode}):\n${output}`);
    }
    await sleep(250 * attempt);
  }
}

/** A row of Prisma's `_prisma_migrations` that was not rolled back. */
interface AppliedMigration {
  name: string;
  checksum: string;
  /** False for a migration that started and failed: the CLI refuses to go on (P3009). */
  finished: boolean;
}

/**
 * True only when every migration folder on disk has a finished row with the same name and
 * checksum, and no migration is left failed. Anything else (no database or table yet, a pending,
 * failed or edited migration, any error reading) is false: the CLI then decides, and reports
 * whatever is unusual, exactly as without this check.
 */
async function allMigrationsApplied(databaseUrl: string): Promise<boolean> {
  try {
    const [onDisk, applied] = await Promise.all([
      migrationsOnDisk(),
      appliedMigrations(databaseUrl),
    ]);
    if (applied.some((migration) => !migration.finished)) return false;
    return [...onDisk].every(([name, checksum]) =>
      applied.some((migration) => migration.name === name && migration.checksum === checksum),
    );
  } catch {
    return false;
  }
}

/**
 * Migration name to checksum, read the way the Prisma CLI reads them: the folders (not
 * recursively) of the migrations directory prisma.config.ts picks, each one's migration.sql as
 * UTF-8, checksummed as the SHA-256 hex of that text.
 */
async function migrationsOnDisk(): Promise<Map<string, string>> {
  const directory = path.join(API_ROOT, "prisma", "migrations");
  const migrations = new Map<string, string>();
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const script = await readFile(path.join(directory, entry.name, "migration.sql"), "utf8");
    migrations.set(entry.name, createHash("sha256").update(script).digest("hex"));
  }
  return migrations;
}

/**
 * Through the application's own database path, closed at once. `_prisma_migrations` is Prisma's
 * table, not the schema's, so it is read with plain SQL and its row checked here.
 */
async function appliedMigrations(databaseUrl: string): Promise<AppliedMigration[]> {
  const db = createDatabase(databaseUrl);
  try {
    const { rows } = await sql<{ name: unknown; checksum: unknown; finishedAt: unknown }>`
      SELECT migration_name AS name, checksum, finished_at AS "finishedAt"
      FROM _prisma_migrations WHERE rolled_back_at IS NULL`.execute(db);
    return rows.map(({ name, checksum, finishedAt }) => {
      if (typeof name !== "string" || typeof checksum !== "string") {
        throw new Error("unexpected _prisma_migrations row");
      }
      return { name, checksum, finished: finishedAt != null };
    });
  } finally {
    await db.destroy();
  }
}

async function migrateDeploy(
  databaseUrl: string,
): Promise<{ exitCode: number | null; output: string }> {
  const prismaCli = createRequire(import.meta.url).resolve("prisma/build/index.js");
  const output: Buffer[] = [];
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [prismaCli, "migrate", "deploy", "--config", path.join(API_ROOT, "prisma.config.ts")],
      {
        cwd: API_ROOT,
        env: {
          ...process.env,
          DATABASE_URL: databaseUrl,
          PRISMA_HIDE_UPDATE_MESSAGE: "1",
          CHECKPOINT_DISABLE: "1",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    child.stdout.on("data", (chunk: Buffer) => output.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => output.push(chunk));
    child.on("error", reject);
    child.on("close", resolve);
  });
  return { exitCode, output: Buffer.concat(output).toString("utf8") };
}
