import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from "kysely";
import { randomBytes } from "node:crypto";
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
 * (or comes back later) needs no restart. Each statement is prepared once per connection
 * (`PreparedStatementNames`).
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
  const statements = new PreparedStatementNames();

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
          const result = await client.query({
            name: parameters.length > 0 ? statements.nameFor(client, sql) : undefined,
            text: sql,
            values: parameters as unknown[],
          });
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

/**
 * Names under which each connection prepares its statements: node-postgres sends a named
 * statement's text (Parse) the first time a connection runs it only, and PostgreSQL then skips
 * parsing and planning it on every later call. This holds GET /api/me to its guard of 0.30 x
 * Express hello (docs/benchmarks.md): with unnamed statements it measured 0.22-0.29, named
 * 0.32-0.40 (`BENCH_ONLY=me pnpm bench`).
 *
 * A name is the connection's own: the connections of `pnpm dev`'s embedded PostgreSQL share one
 * backend, where one name prepared by two connections collides ("already exists"), and a restarted
 * API must not meet the names of the one before it there. A statement whose text varies with its
 * input (an `in` list of any length) would prepare without end, so past `MAX_NAMED` texts the rest
 * run unnamed. Statements without parameters (BEGIN, COMMIT) go as they are: nothing to plan.
 */
export class PreparedStatementNames {
  static readonly MAX_NAMED = 500;
  /** Per process, so no two API processes on one backend share a prefix. */
  readonly #process = randomBytes(4).toString("hex");
  readonly #connections = new WeakMap<object, string>();
  #connectionCount = 0;
  readonly #texts = new Map<string, number>();

  /** The name `connection` prepares `sql` under; undefined (unnamed) past MAX_NAMED texts. */
  nameFor(connection: object, sql: string): string | undefined {
    let index = this.#texts.get(sql);
    if (index === undefined) {
      if (this.#texts.size >= PreparedStatementNames.MAX_NAMED) return undefined;
      index = this.#texts.size;
      this.#texts.set(sql, index);
    }
    let prefix = this.#connections.get(connection);
    if (prefix === undefined) {
      prefix = `wxauth_${this.#process}_${this.#connectionCount++}`;
      this.#connections.set(connection, prefix);
    }
    return `${prefix}_${index}`;
  }
}
