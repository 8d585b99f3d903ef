import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { defineConfig } from "prisma/config";

/*
 * The Prisma CLI configuration for PostgreSQL: apps/api/prisma.config.ts hands over to it when
 * DATABASE_URL is a `postgresql://` URL, and `--config prisma/postgres/config.ts` uses it directly.
 * Like the SQLite side it runs the JS schema engine through a driver adapter, so nothing is
 * downloaded (see shared ENVIRONMENT.md).
 */

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/*
 * Prisma 6.19's JS schema engine reads PostgreSQL's catalog through the adapter, and
 * @prisma/adapter-pg refuses catalog column types it has no mapping for: every migrate command then
 * fails with "Column type 'name' could not be deserialized from the database" (prisma/orm#27403,
 * open). node-postgres already hands those values over as plain strings, so relabelling the
 * columns as `text` (or `text[]`) before the adapter looks at them is exact, not an approximation.
 * Only the CLI needs this: application queries never select catalog types.
 */
const TEXT = 25;
const TEXT_ARRAY = 1009;
const CATALOG_TYPES_AS_TEXT = new Map<number, number>([
  [18, TEXT], // "char"
  [19, TEXT], // name
  [24, TEXT], // regproc
  [194, TEXT], // pg_node_tree
  [2205, TEXT], // regclass
  [2206, TEXT], // regtype
  [1002, TEXT_ARRAY], // "char"[]
  [1003, TEXT_ARRAY], // name[]
]);

type QueryResultLike = { fields?: Array<{ dataTypeID: number }> };

function relabelCatalogColumns<T>(result: T): T {
  for (const single of Array.isArray(result) ? result : [result]) {
    for (const field of (single as QueryResultLike | undefined)?.fields ?? []) {
      field.dataTypeID = CATALOG_TYPES_AS_TEXT.get(field.dataTypeID) ?? field.dataTypeID;
    }
  }
  return result;
}

/** Wraps `client.query` in both its forms: promise, and callback (what `pool.query` uses). */
function relabelCatalogColumnsOf(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((...args: unknown[]) => {
    const callback = args.at(-1);
    if (typeof callback === "function") {
      args[args.length - 1] = (error: unknown, result: unknown) =>
        callback(error, result && relabelCatalogColumns(result));
      return query(...args);
    }
    const pending = query(...args);
    return pending instanceof Promise ? pending.then(relabelCatalogColumns) : pending;
  }) as typeof client.query;
}

export function postgresPrismaConfig(databaseUrl: string) {
  return defineConfig({
    experimental: { adapter: true },
    engine: "js",
    schema: path.join(import.meta.dirname, "schema.prisma"),
    migrations: { path: path.join(import.meta.dirname, "migrations") },
    adapter: async () => {
      if (!isPostgresUrl(databaseUrl)) {
        throw new Error("prisma/postgres needs DATABASE_URL=postgresql://user@host:5432/database");
      }
      const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
      pool.on("connect", relabelCatalogColumnsOf);
      return new PrismaPg(pool, { disposeExternalPool: true });
    },
  });
}

export default postgresPrismaConfig(process.env.DATABASE_URL ?? "");
