import { mkdirSync } from "node:fs";
import path from "node:path";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { defineConfig } from "prisma/config";

// The Prisma CLI runs the JS schema engine through a driver adapter, so `generate`, `migrate
// deploy` and `migrate diff` need no engine binary and work offline (see shared ENVIRONMENT.md).
//
// DATABASE_URL picks the schema, migrations and adapter. Today every URL is a `file:` SQLite
// URL; the scale-out work adds the `postgresql://` branch (prisma/postgres + @prisma/adapter-pg).
// The schema's `url = env("DATABASE_URL")` must resolve even for `generate`, hence the default.
const databaseUrl =
  (process.env.DATABASE_URL ??= `file:${path.join(import.meta.dirname, "data", "wxauth.db")}`);

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/sqlite/schema.prisma",
  migrations: { path: "prisma/sqlite/migrations" },
  adapter: async () => {
    // better-sqlite3 creates the file but not its directory.
    mkdirSync(path.dirname(path.resolve(import.meta.dirname, databaseUrl.replace(/^file:/, ""))), {
      recursive: true,
    });
    return new PrismaBetterSQLite3({ url: databaseUrl });
  },
});
