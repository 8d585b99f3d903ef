import { mkdirSync } from "node:fs";
import path from "node:path";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { defineConfig } from "prisma/config";
import { isPostgresUrl, postgresPrismaConfig } from "./prisma/postgres/config.js";

// The Prisma CLI runs the JS schema engine through a driver adapter, so `migrate deploy` and
// `migrate diff` need no engine binary and work offline: Prisma's native schema engine
// is a download from Prisma's servers, which machines without that access cannot reach.
//
// DATABASE_URL picks the schema, migrations and adapter: `postgresql://` hands over to
// prisma/postgres/config.ts; anything else is a `file:` SQLite URL.
// The schema's `url = env("DATABASE_URL")` must resolve even for `migrate diff`, hence the default.
const databaseUrl =
  (process.env.DATABASE_URL ??= `file:${path.join(import.meta.dirname, "data", "wxauth.db")}`);

const sqliteConfig = defineConfig({
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

export default isPostgresUrl(databaseUrl) ? postgresPrismaConfig(databaseUrl) : sqliteConfig;
