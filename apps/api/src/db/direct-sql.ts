import type { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";

/*
 * Prisma 6.19's client engine compiles every query to a plan in WebAssembly on the event loop and
 * then interprets it, with no plan cache (that arrived in Prisma 7.4). On this project's hardware
 * that is about 1 ms per findUnique against 0.15 ms for the same SELECT sent to the driver
 * adapter, and it capped /api/me and login well below their throughput goals (docs/benchmarks.md).
 * The few statements every sign-in and every /api/me runs therefore skip Prisma: on PostgreSQL
 * they go to the driver adapter, on SQLite to the adapter's better-sqlite3 connection with
 * statements prepared once (Prisma's SQLite adapter prepares every statement anew), through the
 * same gate and busy retry as Prisma's own statements. Everything else, and everything inside a
 * transaction client, stays on Prisma.
 */

/** What a driver adapter offers, as far as the PostgreSQL direct path uses it. */
export type DriverAdapter = Pick<
  Awaited<ReturnType<PrismaBetterSQLite3["connect"]>>,
  "provider" | "queryRaw" | "executeRaw" | "startTransaction"
>;
type SqlQuery = Parameters<DriverAdapter["queryRaw"]>[0];
type ArgType = SqlQuery["argTypes"][number];

export type SqlValue = string | number | Date | null;
export type SqlRow = Record<string, unknown>;

/** Statements on one connection: the database's, or an open transaction's. */
export interface SqlStatements {
  /** The rows, keyed by column name (alias columns to the record's field names). */
  query(sql: string, args: SqlValue[]): Promise<SqlRow[]>;
  /** The number of rows a write changed. */
  execute(sql: string, args: SqlValue[]): Promise<number>;
}

export interface DirectSql extends SqlStatements {
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (transaction: SqlStatements) => Promise<T>): Promise<T>;
}

const STRING: ArgType = { scalarType: "string", arity: "scalar" };
const DATETIME: ArgType = { scalarType: "datetime", arity: "scalar" };
const INT: ArgType = { scalarType: "int", arity: "scalar" };
const UNKNOWN: ArgType = { scalarType: "unknown", arity: "scalar" };

const argTypeOf = (value: SqlValue): ArgType =>
  value instanceof Date
    ? DATETIME
    : typeof value === "number"
      ? INT
      : value === null
        ? UNKNOWN
        : STRING;

/** Statements are written with `?`; PostgreSQL numbers its placeholders. */
function placeholdersFor(provider: string, sql: string): string {
  if (provider !== "postgres") return sql;
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/**
 * The codes db/errors.ts recognises, as Prisma would report them: a unique violation is P2002, a
 * busy database P1008; anything else keeps the driver's own code (SQLITE_IOERR, 57P01, ...).
 */
export class DirectSqlError extends Error {
  override name = "DirectSqlError";
  readonly code: string | undefined;
  readonly kind: string | undefined;

  constructor(cause: { kind?: string; originalCode?: string; originalMessage?: string }) {
    super(cause.originalMessage ?? cause.kind ?? "database error", { cause });
    this.kind = cause.kind;
    this.code =
      cause.kind === "UniqueConstraintViolation"
        ? "P2002"
        : cause.kind === "SocketTimeout"
          ? "P1008"
          : cause.originalCode;
  }
}

/**
 * A driver error as Prisma would have reported it. What the adapter could not classify (a pg
 * query timeout, a closed connection) Prisma passes on as a failure of the driver itself, which
 * db/errors.ts treats as unavailability; so does this.
 */
function translated(error: unknown): DirectSqlError {
  const failure = error as { name?: unknown; cause?: unknown; code?: unknown; message?: unknown };
  if (failure?.name === "DriverAdapterError" && failure.cause) {
    return new DirectSqlError(failure.cause as ConstructorParameters<typeof DirectSqlError>[0]);
  }
  return new DirectSqlError({
    kind: "DatabaseNotReachable",
    originalCode: typeof failure?.code === "string" ? failure.code : undefined,
    originalMessage: typeof failure?.message === "string" ? failure.message : String(error),
  });
}

type Queryable = Pick<DriverAdapter, "provider" | "queryRaw" | "executeRaw">;

function statementsOn(queryable: Queryable): SqlStatements {
  const statement = (sql: string, args: SqlValue[]): SqlQuery => ({
    sql: placeholdersFor(queryable.provider, sql),
    args,
    argTypes: args.map(argTypeOf),
  });
  return {
    async query(sql, args) {
      try {
        const { columnNames, rows } = await queryable.queryRaw(statement(sql, args));
        return rows.map((row) => Object.fromEntries(columnNames.map((name, i) => [name, row[i]])));
      } catch (error) {
        throw translated(error);
      }
    },
    async execute(sql, args) {
      try {
        return await queryable.executeRaw(statement(sql, args));
      } catch (error) {
        throw translated(error);
      }
    },
  };
}

/** The PostgreSQL direct path: statements through the pg driver adapter and its pool. */
export function directSqlOver(adapter: DriverAdapter): DirectSql {
  return {
    ...statementsOn(adapter),
    async transaction(work) {
      let transaction: Awaited<ReturnType<DriverAdapter["startTransaction"]>>;
      try {
        transaction = await adapter.startTransaction();
      } catch (error) {
        throw translated(error);
      }
      const statements = statementsOn(transaction);
      // Like Prisma with `usePhantomQuery: false`: COMMIT and ROLLBACK are sent as statements,
      // and commit()/rollback() only hand the pooled connection back.
      try {
        const result = await work(statements);
        await statements.execute("COMMIT", []);
        await transaction.commit();
        return result;
      } catch (error) {
        await statements.execute("ROLLBACK", []).catch(() => {});
        await transaction.rollback();
        throw error;
      }
    },
  };
}

/** better-sqlite3's connection, as far as the SQLite direct path uses it. */
export interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
}
interface SqliteStatement {
  readonly reader: boolean;
  safeIntegers(toggle: boolean): SqliteStatement;
  all(...args: unknown[]): unknown[];
  run(...args: unknown[]): { changes: number };
}

/** SQLite's one connection, shared with Prisma: db/client.ts queues statements behind transactions. */
export interface SqliteGate {
  /** Runs a statement when no transaction holds the connection, retrying while another process holds the lock. */
  statement<T>(run: () => T): Promise<T>;
  /** Holds the connection for a transaction begun with `begin`; resolves the hand-back. */
  transaction(begin: () => void): Promise<() => void>;
}

/** Values as Prisma's SQLite adapter binds them, so that Prisma reads back what this path writes. */
const sqliteValue = (value: SqlValue) =>
  value instanceof Date ? value.toISOString().replace("Z", "+00:00") : value;

/** A better-sqlite3 error as Prisma's adapter would have classified it (see `translated`). */
function translatedSqliteError(error: unknown): DirectSqlError {
  const failure = error as { code?: unknown; message?: unknown };
  const code = typeof failure?.code === "string" ? failure.code : undefined;
  const kind =
    code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY"
      ? "UniqueConstraintViolation"
      : code === "SQLITE_BUSY"
        ? "SocketTimeout"
        : code === undefined
          ? "DatabaseNotReachable"
          : undefined;
  const originalMessage = typeof failure?.message === "string" ? failure.message : String(error);
  return new DirectSqlError({ kind, originalCode: code, originalMessage });
}

/**
 * The SQLite direct path: each distinct statement is prepared once and kept. The statements are
 * this module's callers' constants, a handful in all; the cap only guards against a caller that
 * one day builds SQL from data.
 */
export function directSqlOverSqlite(connection: SqliteConnection, gate: SqliteGate): DirectSql {
  const prepared = new Map<string, SqliteStatement>();
  const statement = (sql: string): SqliteStatement => {
    let found = prepared.get(sql);
    if (!found) {
      if (prepared.size >= 64) prepared.clear();
      // Numbers, not BigInts, as the PostgreSQL path gives them (Prisma turns BigInts on).
      found = connection.prepare(sql).safeIntegers(false);
      prepared.set(sql, found);
    }
    return found;
  };
  const run = <T>(work: () => T): T => {
    try {
      return work();
    } catch (error) {
      throw translatedSqliteError(error);
    }
  };
  const query = (sql: string, args: SqlValue[]) =>
    run(() => statement(sql).all(...args.map(sqliteValue)) as SqlRow[]);
  const execute = (sql: string, args: SqlValue[]) =>
    run(() => statement(sql).run(...args.map(sqliteValue)).changes);
  return {
    query: (sql, args) => gate.statement(() => query(sql, args)),
    execute: (sql, args) => gate.statement(() => execute(sql, args)),
    async transaction(work) {
      const release = await gate.transaction(() => execute("BEGIN IMMEDIATE", []));
      const statements: SqlStatements = {
        query: async (sql, args) => query(sql, args),
        execute: async (sql, args) => execute(sql, args),
      };
      try {
        const result = await work(statements);
        execute("COMMIT", []);
        return result;
      } catch (error) {
        try {
          execute("ROLLBACK", []);
        } catch {
          // Nothing left to undo: SQLite already rolled back (or never began).
        }
        throw error;
      } finally {
        release();
      }
    },
  };
}

const directSqlByDatabase = new WeakMap<object, DirectSql>();

/** Called by db/client.ts once the client's driver adapter is connected. */
export function attachDirectSql(database: object, direct: DirectSql): void {
  directSqlByDatabase.set(database, direct);
}

/**
 * The direct path of a database made by createDatabase; undefined for a transaction client
 * (its statements must run inside its transaction, through Prisma).
 */
export function directSqlOf(database: object): DirectSql | undefined {
  return directSqlByDatabase.get(database);
}
