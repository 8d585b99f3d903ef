import { mkdirSync } from "node:fs";
import path from "node:path";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient as PostgresPrismaClient } from "../generated/postgres/client.js";
import { PrismaClient } from "../generated/sqlite/client.js";
import type { Logger } from "pino";
import { API_ROOT } from "../config.js";
import {
  attachDirectSql,
  directSqlOver,
  directSqlOverSqlite,
  type SqliteConnection,
  type SqliteGate,
} from "./direct-sql.js";
import { WAL_SIZE_LIMIT_BYTES, startWalCheckpointer } from "./wal-checkpointer.js";

/**
 * The Prisma client the repositories use. The PostgreSQL client is generated from a schema that
 * mirrors the SQLite one model for model (a test keeps them in step), so it has the same API and
 * is used through this type.
 */
export type Database = PrismaClient;
/** The client inside `$transaction(async (tx) => ...)`. */
export type DatabaseTransaction = Parameters<Parameters<Database["$transaction"]>[0]>[0];

type AdapterFactory = NonNullable<
  NonNullable<ConstructorParameters<typeof PrismaClient>[0]>["adapter"]
>;
type SqliteAdapter = Awaited<ReturnType<PrismaBetterSQLite3["connect"]>>;
type SqliteTransaction = Awaited<ReturnType<SqliteAdapter["startTransaction"]>>;

/** The path of a `file:` URL, relative paths taken from apps/api like the Prisma CLI does. */
export function sqlitePathOf(databaseUrl: string): string {
  return path.resolve(API_ROOT, databaseUrl.replace(/^file:/, "").replace(/\?.*$/, ""));
}

/**
 * How long a statement may wait for a lock another process holds before the request answers 503.
 * The wait is asynchronous (see `serializeTransactions`): the event loop keeps serving meanwhile.
 */
export const SQLITE_BUSY_BUDGET_MS = 2000;

/*
 * PostgreSQL timeouts: a database that stops answering must cost a request a bounded wait, then a
 * 503, never a hang. Connecting gets 2 s (a refused connection fails at once anyway). A statement
 * gets 5 s on the client's clock, which covers a server that no longer answers at all, unlike a
 * server-side statement_timeout.
 */
export const POSTGRES_CONNECT_TIMEOUT_MS = 2000;
export const POSTGRES_QUERY_TIMEOUT_MS = 5000;

export function isPostgresDatabaseUrl(databaseUrl: string): boolean {
  return /^postgres(ql)?:\/\//i.test(databaseUrl);
}

export interface DatabaseOptions {
  /** Where the SQLite WAL checkpointer reports trouble (db/wal-checkpointer.ts). */
  logger?: Pick<Logger, "warn">;
}

export async function createDatabase(
  databaseUrl: string,
  options: DatabaseOptions = {},
): Promise<Database> {
  if (isPostgresDatabaseUrl(databaseUrl)) return createPostgresDatabase(databaseUrl);
  const filename = sqlitePathOf(databaseUrl);
  mkdirSync(path.dirname(filename), { recursive: true });
  const factory = new PrismaBetterSQLite3({
    url: filename,
    // Migrations create the file before the client opens it. A file gone later (a lost volume)
    // must fail as unavailable, not be replaced by an empty database.
    fileMustExist: true,
    // better-sqlite3 waits for locks in a synchronous loop that freezes the whole process; fail
    // at once instead and let the gate wait asynchronously.
    timeout: 0,
  });
  const prisma: PrismaClient = new PrismaClient({
    adapter: serializeTransactions(factory, (connection, gate, whileQuiet) => {
      attachDirectSql(prisma, directSqlOverSqlite(connection, gate));
      const checkpointer = startWalCheckpointer({
        filename,
        setAutocheckpoint: (pages) =>
          connection.prepare(`PRAGMA wal_autocheckpoint = ${Math.trunc(pages)}`).all(),
        whileQuiet,
        onProblem: (message, error) => options.logger?.warn({ err: error }, message),
      });
      return () => checkpointer.stop();
    }),
  });
  // WAL lets readers in other processes (tests, tooling) work while we write; NORMAL sync is
  // durable across application crashes in WAL mode and much faster than FULL. Checkpoints run on
  // a worker thread (db/wal-checkpointer.ts).
  await prisma.$queryRawUnsafe("PRAGMA journal_mode = WAL");
  await prisma.$executeRawUnsafe("PRAGMA synchronous = NORMAL");
  await prisma.$queryRawUnsafe(`PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  return prisma;
}

/**
 * PostgreSQL through node-postgres' pool. Unlike SQLite it needs no statement gate: every
 * interactive transaction holds its own pooled connection, and the server isolates them.
 */
function createPostgresDatabase(connectionString: string): Database {
  const adapter = new PrismaPg({
    connectionString,
    connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
    query_timeout: POSTGRES_QUERY_TIMEOUT_MS,
  });
  const connect = adapter.connect.bind(adapter);
  adapter.connect = async () => {
    const connected = endingTransactionsOnDispose(await connect());
    attachDirectSql(prisma, directSqlOver(connected));
    return connected;
  };
  // The PostgreSQL schema mirrors the SQLite one model for model (src/db/schemas.test.ts), so the
  // generated clients have the same API; their types differ only in provider-specific internals.
  const prisma = new PostgresPrismaClient({ adapter }) as unknown as Database;
  return prisma;
}

type PostgresAdapter = Awaited<ReturnType<PrismaPg["connect"]>>;
type PostgresTransaction = Awaited<ReturnType<PostgresAdapter["startTransaction"]>>;

/**
 * Prisma 6.19's $disconnect rolls back the transactions it knows of, then disposes of the adapter,
 * whose pool.end() waits for every checked-out connection. A transaction still starting then (its
 * connection or BEGIN in flight) is marked closed while it has no connection yet, and the
 * connection it gets a moment later is never rolled back nor released ("Unknown transaction
 * status"): it sits idle in transaction, and pool.end(), $disconnect and the shutdown wait
 * forever. Prisma fixed this after 6.19 (prisma/orm#28768); 6.19 is the version that migrates
 * offline here (shared ENVIRONMENT.md).
 *
 * So the adapter keeps track of the transactions it hands out. dispose() waits for the starts in
 * flight, rolls back and releases whatever nobody committed or rolled back, and only then ends the
 * pool. A transaction rolled back that way refuses further statements, so its owner cannot go on
 * writing outside it on a connection back in the pool.
 */
function endingTransactionsOnDispose(adapter: PostgresAdapter): PostgresAdapter {
  const starting = new Set<Promise<PostgresTransaction>>();
  const open = new Set<PostgresTransaction>();
  const startTransaction = adapter.startTransaction.bind(adapter);
  adapter.startTransaction = (isolationLevel) => {
    const started = startTransaction(isolationLevel).then((transaction) => {
      const tracked = trackedTransaction(transaction, () => open.delete(tracked));
      open.add(tracked);
      return tracked;
    });
    starting.add(started);
    // The caller handles a failed start; this copy of it only keeps the count.
    started.finally(() => starting.delete(started)).catch(() => {});
    return started;
  };
  const dispose = adapter.dispose.bind(adapter);
  adapter.dispose = async () => {
    // Until nothing is starting or open: a start may still come in while these are awaited. The
    // pool then ends in the same turn as the last check, so no later start can slip in before it.
    while (starting.size > 0 || open.size > 0) {
      await Promise.allSettled(starting);
      await Promise.allSettled(
        [...open].map(async (transaction) => {
          await transaction.executeRaw({ sql: "ROLLBACK", args: [], argTypes: [] }).catch(() => {});
          await transaction.rollback();
        }),
      );
    }
    await dispose();
  };
  return adapter;
}

/** `transaction`, refusing statements once it has ended; `onEnd` runs when it ends. */
function trackedTransaction(
  transaction: PostgresTransaction,
  onEnd: () => void,
): PostgresTransaction {
  let ended = false;
  const ensureOpen = () => {
    if (ended) throw new Error("statement on a transaction that has ended");
  };
  const end = async (finish: () => Promise<void>) => {
    if (ended) return;
    ended = true;
    onEnd();
    await finish();
  };
  return {
    provider: transaction.provider,
    adapterName: transaction.adapterName,
    options: transaction.options,
    queryRaw: async (query) => {
      ensureOpen();
      return transaction.queryRaw(query);
    },
    executeRaw: async (query) => {
      ensureOpen();
      return transaction.executeRaw(query);
    },
    commit: () => end(() => transaction.commit()),
    rollback: () => end(() => transaction.rollback()),
  };
}

/**
 * better-sqlite3 has a single connection, which shapes three things here:
 *
 * - Isolation. Prisma's adapter opens an interactive transaction on it with BEGIN, and any query
 *   another request issues while that transaction awaits runs *inside* it: a fulfilled write is
 *   silently undone by the transaction's rollback, and a second BEGIN fails. A FIFO gate queues
 *   every statement and transaction behind the open transaction. Statements run synchronously,
 *   so the uncontended path costs nothing.
 * - Locks held by another process. Transactions start with BEGIN IMMEDIATE, so they take the
 *   write lock up front and never hit a lock halfway. A busy lock is retried with a short
 *   asynchronous back-off *outside* the gate, so reads keep flowing, for SQLITE_BUSY_BUDGET_MS;
 *   then the SQLITE_BUSY error surfaces and the request answers 503.
 * - COMMIT and ROLLBACK are sent by Prisma itself (`usePhantomQuery: false`); the transaction
 *   object only has to give the gate back.
 */
function serializeTransactions(
  factory: PrismaBetterSQLite3,
  /**
   * Called once connected with the connection, the gate for the direct path, and a way to hold
   * the connection idle while `work` runs; what it returns runs before the connection closes.
   */
  onConnect: (
    connection: SqliteConnection,
    gate: SqliteGate,
    whileQuiet: (work: () => Promise<void>) => Promise<void>,
  ) => () => Promise<void>,
): AdapterFactory {
  const gate = new Gate();
  const whileQuiet = async (work: () => Promise<void>) => {
    const release = await gate.acquire();
    try {
      await work();
    } finally {
      release();
    }
  };
  // Most of the time nothing holds the connection and no other process holds the lock: then a
  // statement (or a transaction's BEGIN) runs at once, without the retry loop's promises.
  const directGate: SqliteGate = {
    statement: (run) => {
      if (gate.idle) {
        try {
          return Promise.resolve(run());
        } catch (error) {
          if (!isBusy(error)) return Promise.reject(error);
        }
      }
      return retryWhileBusy(() => gate.run(async () => run()));
    },
    transaction: (begin) => {
      /** BEGIN with the gate held; the gate goes back if BEGIN fails. */
      const beginHolding = (release: () => void) => {
        try {
          begin();
        } catch (error) {
          release();
          throw error;
        }
        return release;
      };
      const release = gate.tryAcquire();
      if (release) {
        try {
          return Promise.resolve(beginHolding(release));
        } catch (error) {
          if (!isBusy(error)) return Promise.reject(error);
        }
      }
      return retryWhileBusy(async () => beginHolding(await gate.acquire()));
    },
  };
  const connect = async (): Promise<SqliteAdapter> => {
    const adapter = await factory.connect();
    const beforeClose = onConnect(connectionOf(adapter), directGate, whileQuiet);
    const gated: SqliteAdapter = {
      provider: adapter.provider,
      adapterName: adapter.adapterName,
      queryRaw: (query) => retryWhileBusy(() => gate.run(() => adapter.queryRaw(query))),
      executeRaw: (query) => retryWhileBusy(() => gate.run(() => adapter.executeRaw(query))),
      executeScript: (script) =>
        retryWhileBusy(() => gate.run(() => adapter.executeScript(script))),
      startTransaction: () =>
        retryWhileBusy(async () => {
          const release = await gate.acquire();
          try {
            await adapter.executeRaw({ sql: "BEGIN IMMEDIATE", args: [], argTypes: [] });
          } catch (error) {
            release();
            throw error;
          }
          return transactionOn(adapter, release);
        }),
      dispose: async () => {
        await beforeClose();
        await adapter.dispose();
      },
    };
    if (adapter.getConnectionInfo) gated.getConnectionInfo = () => adapter.getConnectionInfo!();
    return gated;
  };
  return { provider: factory.provider, adapterName: factory.adapterName, connect };
}

/**
 * The better-sqlite3 connection inside Prisma's adapter, for the direct path (db/direct-sql.ts).
 * The adapter keeps it as its `client` field without declaring it; a Prisma upgrade that moves it
 * fails every start here, loudly, rather than leaving the hot path on a slower second route.
 */
function connectionOf(adapter: SqliteAdapter): SqliteConnection {
  const client = (adapter as unknown as { client?: Partial<SqliteConnection> }).client;
  if (typeof client?.prepare !== "function") {
    throw new Error("@prisma/adapter-better-sqlite3 no longer exposes its connection as `client`");
  }
  return client as SqliteConnection;
}

function transactionOn(adapter: SqliteAdapter, release: () => void): SqliteTransaction {
  let released = false;
  const end = () => {
    if (!released) {
      released = true;
      release();
    }
    return Promise.resolve();
  };
  return {
    provider: adapter.provider,
    adapterName: adapter.adapterName,
    options: { usePhantomQuery: false },
    queryRaw: (query) => adapter.queryRaw(query),
    executeRaw: (query) => adapter.executeRaw(query),
    commit: end,
    rollback: end,
  };
}

function isBusy(error: unknown): boolean {
  const cause = (error as { cause?: { originalCode?: unknown } } | null)?.cause;
  return cause?.originalCode === "SQLITE_BUSY" || cause?.originalCode === "SQLITE_LOCKED";
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

/** A FIFO mutex whose uncontended path runs the work synchronously. */
class Gate {
  private held = false;
  private readonly waiters: Array<() => void> = [];

  /** Nothing holds the gate (nor waits for it). */
  get idle(): boolean {
    return !this.held;
  }

  /** The gate's release if it was free and is now held by the caller; undefined if it is held. */
  tryAcquire(): (() => void) | undefined {
    if (this.held) return undefined;
    this.held = true;
    return () => this.release();
  }

  acquire(): Promise<() => void> {
    const release = this.tryAcquire();
    if (release) return Promise.resolve(release);
    return new Promise((resolve) => this.waiters.push(() => resolve(() => this.release())));
  }

  /** Runs a statement now when nothing holds the gate, else after the holders ahead of it. */
  run<T>(statement: () => Promise<T>): Promise<T> {
    if (!this.held) return statement();
    return this.acquire().then((release) => statement().finally(release));
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.held = false;
  }
}
