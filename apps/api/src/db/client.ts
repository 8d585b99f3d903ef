import { createRequire } from "node:module";
import path from "node:path";
import { Worker } from "node:worker_threads";
import Sqlite from "better-sqlite3";
import pg from "pg";
import { API_ROOT } from "../config.js";
import { databaseErrorFrom, isBusy, isDatabaseUnavailable } from "./errors.js";

/*
 * Every repository goes through this one path: SQL written with `?` placeholders, run by
 * better-sqlite3 or node-postgres. Prisma keeps the schemas and the migrations but has no part in
 * serving requests: its 6.19 query compiler cost about 1 ms per query on this project's hardware,
 * against 0.15 ms for the same SELECT sent to the driver, and capped /api/me and login well
 * below their throughput goals (docs/benchmarks.md).
 */

export type SqlValue = string | number | Date | Uint8Array | null;
export type SqlRow = Record<string, unknown>;

/** Statements on the database, or on one of its open transactions. */
export interface Sql {
  /** The rows, keyed by column name (alias columns to the record's field names). */
  query<Row = SqlRow>(sql: string, args?: readonly SqlValue[]): Promise<Row[]>;
  /** The number of rows a write changed. */
  execute(sql: string, args?: readonly SqlValue[]): Promise<number>;
}

export interface Database extends Sql {
  readonly provider: "sqlite" | "postgres";
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (transaction: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A date column as read back: ISO 8601 text on SQLite, a Date on PostgreSQL (`timestamptz`). */
export const dateFrom = (value: unknown): Date => new Date(value as string | Date);
export const dateOrNullFrom = (value: unknown): Date | null =>
  value === null ? null : dateFrom(value);

/**
 * Dates are bound as ISO 8601 text with an explicit offset: the form the rows written so far hold
 * on SQLite, where dates compare as text, and an exact instant for PostgreSQL's `timestamptz`.
 */
function bound(value: SqlValue): string | number | Buffer | null {
  if (value instanceof Date) return value.toISOString().replace("Z", "+00:00");
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  return value;
}

/** The path of a `file:` URL, relative paths taken from apps/api like the Prisma CLI does. */
export function sqlitePathOf(databaseUrl: string): string {
  return path.resolve(API_ROOT, databaseUrl.replace(/^file:/, "").replace(/\?.*$/, ""));
}

export function isPostgresDatabaseUrl(databaseUrl: string): boolean {
  return /^postgres(ql)?:\/\//i.test(databaseUrl);
}

export async function createDatabase(databaseUrl: string): Promise<Database> {
  return isPostgresDatabaseUrl(databaseUrl)
    ? createPostgresDatabase(databaseUrl)
    : createSqliteDatabase(sqlitePathOf(databaseUrl));
}

/**
 * How long a statement may wait for a lock another process holds before the request answers 503.
 * The wait is asynchronous (see `createSqliteDatabase`): the event loop keeps serving meanwhile.
 */
export const SQLITE_BUSY_BUDGET_MS = 2000;
/** The log is cut back to this size after each checkpoint, so a burst leaves no lasting file. */
export const WAL_SIZE_LIMIT_BYTES = 32 * 1024 * 1024;

/*
 * Checkpoints off the event loop. SQLite's own automatic checkpoint (every 1000 pages, about 110
 * logins) copies the log into the database inside the COMMIT that crosses the line, with two
 * fsyncs: a 5-100 ms stall of the whole process. Beside the goal "login p99 at 10 connections
 * <= 10x hello's", the bench measured login p99 at 12.6x hello's with those stalls. So a worker
 * thread with a connection of its own copies the log every CHECKPOINT_INTERVAL_MS (PASSIVE: it
 * neither waits for nor blocks the writer), and the main connection's own automatic checkpoint
 * is moved up to WAL_BOUND_PAGES. That one is still what bounds the log: under steady writes no
 * pass of the worker reaches the end of the log, so the log never starts afresh by itself; at the
 * bound the COMMIT copies only what the worker has not yet, and the next write starts it afresh.
 */
const CHECKPOINT_INTERVAL_MS = 200;
const WAL_BOUND_PAGES = 4096;
const CHECKPOINT_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const Sqlite = require(workerData.driver);
const db = new Sqlite(workerData.filename, { fileMustExist: true, timeout: 0 });
const checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
// A pass that fails (the file gone, a lock) is simply the next pass's work.
const timer = setInterval(() => { try { checkpoint.get(); } catch {} }, workerData.intervalMs);
parentPort.once("message", () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

function startCheckpointWorker(filename: string): () => void {
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const worker = new Worker(CHECKPOINT_WORKER, {
    eval: true,
    workerData: { driver, filename, intervalMs: CHECKPOINT_INTERVAL_MS },
  });
  // Never what keeps the process alive; if it dies, the bound above still holds the log.
  worker.unref();
  worker.on("error", () => {});
  return () => worker.postMessage("stop");
}

/**
 * SQLite through one better-sqlite3 connection, which shapes three things:
 *
 * - Isolation. A transaction spans awaits, and any statement another request runs meanwhile
 *   would run *inside* it (and be undone by its rollback). A FIFO gate keeps every statement and
 *   transaction behind the open transaction. Statements themselves run synchronously.
 * - Locks held by another process. Transactions start with BEGIN IMMEDIATE, so they take the
 *   write lock up front and never meet a lock halfway. better-sqlite3 would wait for a lock in a
 *   synchronous loop that freezes the process, so it fails at once (`timeout: 0`) and a busy
 *   statement is retried with a short asynchronous back-off *outside* the gate, so reads keep
 *   flowing, for SQLITE_BUSY_BUDGET_MS; then the error surfaces and the request answers 503.
 * - The connection opens on first use, and again on the next use after close() or after a
 *   failed open: a database that comes back needs no restart. `fileMustExist`: migrations create
 *   the file, and a file gone later (a lost volume) must fail as unavailable, not be replaced by
 *   an empty database.
 */
function createSqliteDatabase(filename: string): Database {
  let open:
    | {
        connection: Sqlite.Database;
        statements: Map<string, Sqlite.Statement>;
        stopCheckpoints: () => void;
      }
    | undefined;
  const connect = () => {
    if (open) return open;
    const connection = new Sqlite(filename, { fileMustExist: true, timeout: 0 });
    try {
      // WAL lets readers in other processes work while this one writes; NORMAL sync is durable
      // across application crashes in WAL mode and much faster than FULL.
      connection.pragma("journal_mode = WAL");
      connection.pragma("synchronous = NORMAL");
      connection.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
      connection.pragma(`wal_autocheckpoint = ${WAL_BOUND_PAGES}`);
      // better-sqlite3's default, stated: a sign-in relies on its session's foreign key.
      connection.pragma("foreign_keys = ON");
    } catch (error) {
      connection.close();
      throw error;
    }
    open = { connection, statements: new Map(), stopCheckpoints: startCheckpointWorker(filename) };
    return open;
  };
  /** Each statement is prepared once per connection: the SQL texts are the repositories' constants. */
  const prepared = (sql: string) => {
    const { connection, statements } = connect();
    let statement = statements.get(sql);
    if (!statement) {
      statement = connection.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  const onConnection: Sql = {
    query: async <Row>(sql: string, args: readonly SqlValue[] = []) =>
      prepared(sql).all(...args.map(bound)) as Row[],
    execute: async (sql, args = []) => prepared(sql).run(...args.map(bound)).changes,
  };
  const gate = new Gate();
  const outsideTransactions = <T>(statement: () => Promise<T>) =>
    failingAsDatabaseErrors(retryWhileBusy(() => gate.holding(statement)));

  return {
    provider: "sqlite",
    query: (sql, args) => outsideTransactions(() => onConnection.query(sql, args)),
    execute: (sql, args) => outsideTransactions(() => onConnection.execute(sql, args)),
    async transaction(work) {
      const release = await failingAsDatabaseErrors(
        retryWhileBusy(async () => {
          const release = await gate.acquire();
          try {
            await onConnection.execute("BEGIN IMMEDIATE");
            return release;
          } catch (error) {
            release();
            throw error;
          }
        }),
      );
      try {
        const result = await work({
          query: (sql, args) => failingAsDatabaseErrors(onConnection.query(sql, args)),
          execute: (sql, args) => failingAsDatabaseErrors(onConnection.execute(sql, args)),
        });
        await failingAsDatabaseErrors(onConnection.execute("COMMIT"));
        return result;
      } catch (error) {
        // Nothing left to undo when SQLite already rolled back (or the connection is gone).
        await onConnection.execute("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        release();
      }
    },
    close: () =>
      gate.holding(async () => {
        open?.stopCheckpoints();
        open?.connection.close();
        open = undefined;
      }),
  };
}

async function failingAsDatabaseErrors<T>(pending: Promise<T>): Promise<T> {
  try {
    return await pending;
  } catch (error) {
    throw databaseErrorFrom(error);
  }
}

async function retryWhileBusy<T>(attempt: () => Promise<T>): Promise<T> {
  const deadline = performance.now() + SQLITE_BUSY_BUDGET_MS;
  for (let delayMs = 5; ; delayMs = Math.min(delayMs * 2, 100)) {
    try {
      return await attempt();
    } catch (error) {
      if (!isBusy(error) || performance.now() + delayMs > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

/** A FIFO mutex. */
class Gate {
  private held = false;
  private readonly waiters: Array<() => void> = [];

  /** Resolves the release once the caller holds the gate. */
  acquire(): Promise<() => void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve(() => this.release());
    }
    return new Promise((resolve) => this.waiters.push(() => resolve(() => this.release())));
  }

  async holding<T>(work: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await work();
    } finally {
      release();
    }
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.held = false;
  }
}

/*
 * PostgreSQL timeouts: a database that stops answering must cost a request a bounded wait, then a
 * 503, never a hang. Connecting gets 2 s (a refused connection fails at once anyway). A statement
 * gets 5 s on the client's clock, which covers a server that no longer answers at all, unlike a
 * server-side statement_timeout.
 */
export const POSTGRES_CONNECT_TIMEOUT_MS = 2000;
export const POSTGRES_QUERY_TIMEOUT_MS = 5000;

/** Statements are written with `?`; PostgreSQL numbers its placeholders. */
const numbered = (sql: string) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

/**
 * PostgreSQL through node-postgres' pool. Unlike SQLite it needs no gate: every transaction holds
 * its own pooled connection, and the server isolates them.
 */
function createPostgresDatabase(connectionString: string): Database {
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
  // Each statement is prepared once per connection, as on SQLite: node-postgres parses a named
  // statement on a connection the first time only, and PostgreSQL then skips parsing and planning
  // it on every later call. Its CPU per login went from 1.26 to 0.82 ms, one of the cuts that
  // brought the PostgreSQL + Redis login to its goal of 0.9 of the reference login (measured
  // together, docs/benchmarks.md). The names are per process, so every instance names its own. Behind PgBouncer in transaction mode
  // this needs PgBouncer 1.21 or later with max_prepared_statements set (docs/deployment.md).
  const prepared = new Map<string, pg.QueryConfig>();
  const statement = (sql: string, args: readonly SqlValue[]): pg.QueryConfig => {
    let named = prepared.get(sql);
    if (!named) {
      named = { name: `wxauth_${prepared.size}`, text: numbered(sql) };
      prepared.set(sql, named);
    }
    return { ...named, values: args.map(bound) };
  };
  const on = (queryable: pg.Pool | pg.PoolClient): Sql => ({
    query: async <Row>(sql: string, args: readonly SqlValue[] = []) => {
      const { rows } = await failingAsDatabaseErrors(queryable.query(statement(sql, args)));
      return rows as Row[];
    },
    execute: async (sql, args = []) => {
      const { rowCount } = await failingAsDatabaseErrors(queryable.query(statement(sql, args)));
      return rowCount ?? 0;
    },
  });

  return {
    provider: "postgres",
    ...on(pool),
    async transaction(work) {
      const client = await failingAsDatabaseErrors(pool.connect());
      const transaction = on(client);
      let failure: unknown;
      try {
        await failingAsDatabaseErrors(client.query("BEGIN"));
        // close() came while BEGIN was on its way: its owner must not go on writing.
        if (closing) throw databaseErrorFrom(new Error("the database is closing"));
        const result = await work(transaction);
        await failingAsDatabaseErrors(client.query("COMMIT"));
        return result;
      } catch (error) {
        failure = error;
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        // A connection that failed is not handed to the next request.
        client.release(isDatabaseUnavailable(failure));
      }
    },
    /** Waits for the transactions in flight to end, then closes every connection. */
    async close() {
      closing = true;
      await pool.end();
    },
  };
}
