import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { defineConfig } from "prisma/config";
import { DEV_DATABASE_URL } from "./src/db/database-url.js";

/*
 * The Prisma CLI's configuration. It runs the JS schema engine through a driver adapter, so
 * `generate`, `migrate deploy` and `migrate diff` need no engine binary and work offline: Prisma's
 * native schema engine is a download from Prisma's servers, which machines without that access
 * cannot reach.
 *
 * The schema's `url = env("DATABASE_URL")` must resolve even for `generate` and `migrate diff`,
 * hence the default: the embedded database `pnpm dev` starts.
 */
const databaseUrl = (process.env.DATABASE_URL ??= DEV_DATABASE_URL);

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

/*
 * The schema engine gives up on Migrate's advisory lock after 10 s (ADVISORY_LOCK_TIMEOUT in
 * prisma-engines' PostgreSQL flavour). In its WebAssembly build that timeout is a plain setTimeout
 * raced against the lock statement, and nothing clears it once the lock is taken
 * (crosstarget-utils' wasm `time::timeout`; the engine's JS glue has no clearTimeout at all). The
 * CLI does not exit when it is done but lets Node's event loop drain, so every migrate command sat
 * out that timer: 10 s after "All migrations have been successfully applied.". A 10 s timer armed
 * from the engine's WebAssembly is that timeout (the only timer the engine was seen to set), and
 * it is unref'd: while the lock statement is pending its connection keeps the process alive, so
 * the timeout still fires when it should, but it no longer holds a finished process open.
 */
const ADVISORY_LOCK_TIMEOUT_MS = 10_000;
let lockTimeoutsUnrefed = false;

function unrefAdvisoryLockTimeouts(): void {
  if (lockTimeoutsUnrefed) return;
  lockTimeoutsUnrefed = true;
  const setTimeoutAsGiven = globalThis.setTimeout;
  const setTimeoutUnrefingLockTimeouts = (...args: Parameters<typeof setTimeout>) => {
    const timer = setTimeoutAsGiven(...args);
    // The engine's frames are named wasm://... in a stack trace; the trace is only taken for 10 s.
    if (args[1] === ADVISORY_LOCK_TIMEOUT_MS && new Error().stack?.includes("wasm://")) {
      timer.unref();
    }
    return timer;
  };
  // Keeps util.promisify(setTimeout) working (its custom promisified form is a property).
  Object.defineProperties(
    setTimeoutUnrefingLockTimeouts,
    Object.getOwnPropertyDescriptors(setTimeoutAsGiven),
  );
  globalThis.setTimeout = setTimeoutUnrefingLockTimeouts as typeof setTimeout;
}

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  adapter: async () => {
    unrefAdvisoryLockTimeouts();
    const pool = new pg.Pool({
      connectionString: databaseUrl,
      max: 2,
      // The CLI never disposes of the adapter, so the pool is never ended: idle connections
      // must not hold the process open (pg's default 10 s idle timer did, after every
      // command). They are not closed while it runs either: the one that took Migrate's
      // advisory lock, a session lock, then keeps it until the process exits.
      allowExitOnIdle: true,
      idleTimeoutMillis: 0,
    });
    pool.on("connect", relabelCatalogColumnsOf);
    return new PrismaPg(pool, { disposeExternalPool: true });
  },
});
