import type { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";

/*
 * Prisma 6.19's client engine compiles every query to a plan in WebAssembly on the event loop and
 * then interprets it, with no plan cache (that arrived in Prisma 7.4). On this project's hardware
 * that is about 1 ms per findUnique against 0.15 ms for the same SELECT sent to the driver
 * adapter, and it capped /api/me and login well below their throughput goals (docs/benchmarks.md).
 * The few statements every sign-in and every /api/me runs therefore go to the driver adapter
 * directly, through the same gate and busy retry as Prisma's own statements. Everything else,
 * and everything inside a transaction client, stays on Prisma.
 */

/** What both driver adapters (better-sqlite3, pg) offer, as far as this module uses it. */
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
      // and commit()/rollback() only hand the connection (on SQLite, the gate) back.
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

const directSqlByDatabase = new WeakMap<object, DirectSql>();

/** Called by db/client.ts once the client's driver adapter is connected. */
export function attachDirectSql(database: object, adapter: DriverAdapter): void {
  directSqlByDatabase.set(database, directSqlOver(adapter));
}

/**
 * The direct path of a database made by createDatabase; undefined for a transaction client
 * (its statements must run inside its transaction, through Prisma).
 */
export function directSqlOf(database: object): DirectSql | undefined {
  return directSqlByDatabase.get(database);
}
