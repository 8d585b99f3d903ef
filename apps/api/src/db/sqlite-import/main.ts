/*
 * `pnpm --filter @wxauth/api db:import-sqlite <file.db>`: moves a SQLite deployment's data into
 * the PostgreSQL database at DATABASE_URL (docs/deployment.md, "Moving from SQLite"). It migrates
 * that database first, as the API does at start, and copies everything in one transaction into it,
 * which must hold no user yet.
 */
import path from "node:path";
import { createDatabase, isPostgresDatabaseUrl } from "../client.js";
import { applyMigrations } from "../migrate.js";
import { importSqlite, SqliteImportError } from "./import-sqlite.js";

const [sqliteFile] = process.argv.slice(2);
const databaseUrl = process.env.DATABASE_URL ?? "";
if (!sqliteFile || !isPostgresDatabaseUrl(databaseUrl)) {
  console.error(
    "usage: DATABASE_URL=postgresql://... pnpm --filter @wxauth/api db:import-sqlite <file.db>",
  );
  process.exit(2);
}

try {
  await applyMigrations(databaseUrl);
  const db = createDatabase(databaseUrl);
  try {
    const counts = await importSqlite(path.resolve(process.env.INIT_CWD ?? "", sqliteFile), db);
    process.stdout.write(`imported into PostgreSQL, rows per table: ${JSON.stringify(counts)}\n`);
  } finally {
    await db.destroy();
  }
} catch (error) {
  console.error(
    `db:import-sqlite: nothing was imported: ${error instanceof SqliteImportError ? error.message : String(error)}`,
  );
  process.exit(1);
}
