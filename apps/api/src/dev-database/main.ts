/*
 * `pnpm --filter @wxauth/api dev:database`: the embedded PostgreSQL that `pnpm dev` runs beside
 * the API when DATABASE_URL is unset (scripts/dev.mjs). Its data lives in apps/api/data/pglite;
 * the API migrates it at start like any database. DEV_DATABASE_PORT moves it (default 5433).
 */
import path from "node:path";
import { API_ROOT } from "../config.js";
import { DEV_DATABASE_PORT } from "../db/database-url.js";
import { startEmbeddedPostgres } from "./embedded-postgres.js";

const dataDir = process.env.DEV_DATABASE_DIR ?? path.join(API_ROOT, "data", "pglite");
const port = Number(process.env.DEV_DATABASE_PORT ?? DEV_DATABASE_PORT);

const startedAt = performance.now();
const database = await startEmbeddedPostgres({ dataDir, port });
process.stdout.write(
  `embedded PostgreSQL (PGlite) on ${database.url}, data in ${dataDir}, ` +
    `opened in ${Math.round(performance.now() - startedAt)} ms\n`,
);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    // Closing flushes PGlite's data to its folder: a kill without it can lose recent writes.
    database.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error("embedded PostgreSQL: closing failed", error);
        process.exit(1);
      },
    );
  });
}
