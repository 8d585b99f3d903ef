import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from "kysely";
import pg from "pg";
import { databaseErrorFrom } from "./errors.js";
import type { DB } from "./types.js";

/*
 * Every repository runs on Kysely over node-postgres, with the table and column types prisma-kysely
 * generates from prisma/schema.prisma (./types.ts): a misspelled table or column fails the
 * typecheck, and rows come out typed. Prisma keeps the schema and the migrations but serves no
 * request: one SELECT through Prisma Client 6.19 took 497-617 µs here against 194-247 µs through
 * Kysely and 188-215 µs through node-postgres alone (README, "The database").
 */

/** The database, or one of its open transactions (a `Transaction<DB>` is a `Kysely<DB>`). */
export type Database = Kysely<DB>;

/*
 * Timeouts: a database that stops answering must cost a request a bounded wait, then a 503, never
 * a hang. Connecting gets 2 s (a refused connection fails at once anyway). A statement gets 5 s on
 * the client's clock, which covers a server that no longer answers at all, unlike a server-side
 * statement_timeout.
 */
export const POSTGRES_CONNECT_TIMEOUT_MS = 2000;
export const POSTGRES_QUERY_TIMEOUT_MS = 5000;

export function isPostgresDatabaseUrl(databaseUrl: string): boolean {
  return /^postgres(ql)?:\/\//i.test(databaseUrl);
}

/**
 * PostgreSQL at `databaseUrl`. Connections open on first use, so a database that is down at start
 * (or comes back later) needs no restart. Kysely sends unnamed parameterized statements only:
 * named ones would collide on the embedded database of `pnpm dev`, whose connections share one
 * backend, and need PgBouncer's prepared-statement support behind a pooler.
 */
export function createDatabase(databaseUrl: string): Database {
  return new Kysely<DB>({
    dialect: new PostgresDialect({ pool: poolFailingAsDatabaseErrors(databaseUrl) }),
  });
}

/**
 * node-postgres' pool, with every failure turned into a DatabaseError (db/errors.ts) where it
 * happens, so services and the error handler see one kind of error whatever the statement.
 */
function poolFailingAsDatabaseErrors(connectionString: string): PostgresPool {
  const pool = new pg.Pool({
    connectionString,
    connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
    query_timeout: POSTGRES_QUERY_TIMEOUT_MS,
  });
  // A connection that drops is also reported as an event; unhandled, that would end the process.
  // The statement that meets it fails and reports it.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  let closing = false;

  return {
    async connect() {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw databaseErrorFrom(error);
      }
      let failed = false;
      const query = async (sql: string, parameters: readonly unknown[]) => {
        try {
          const result = await client.query(sql, parameters as unknown[]);
          // close() came while BEGIN was on its way: its owner must not go on writing.
          if (closing && sql === "begin") throw new Error("the database is closing");
          return result;
        } catch (error) {
          const failure = databaseErrorFrom(error);
          failed ||= failure.kind === "unavailable";
          throw failure;
        }
      };
      // Only the (sql, parameters) form of query: its other form, cursors, is for streaming,
      // which no repository does.
      const wrapped: Pick<PostgresPoolClient, "release"> & { query: typeof query } = {
        query,
        // A connection that failed is not handed to the next request.
        release: () => client.release(failed),
      };
      return wrapped as unknown as PostgresPoolClient;
    },
    /** Waits for the transactions in flight to end, then closes every connection. */
    async end() {
      closing = true;
      await pool.end();
    },
  };
}
