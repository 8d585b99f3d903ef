import { mkdirSync } from "node:fs";
import path from "node:path";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaClient } from "../generated/sqlite/client.js";
import { API_ROOT } from "../config.js";

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

export async function createDatabase(databaseUrl: string): Promise<Database> {
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    // The seam for scale-out: a `postgresql://` URL selects @prisma/adapter-pg and the client
    // generated from prisma/postgres/schema.prisma.
    throw new Error("PostgreSQL support is not wired yet: set DATABASE_URL to a file: URL");
  }
  const filename = sqlitePathOf(databaseUrl);
  mkdirSync(path.dirname(filename), { recursive: true });
  // A short busy timeout: a locked database answers 503 quickly instead of holding requests.
  const factory = new PrismaBetterSQLite3({ url: filename, timeout: 2000 });
  const prisma = new PrismaClient({ adapter: serializeTransactions(factory) });
  // WAL lets readers in other processes (tests, tooling) work while we write; NORMAL sync is
  // durable across application crashes in WAL mode and much faster than FULL.
  await prisma.$queryRawUnsafe("PRAGMA journal_mode = WAL");
  await prisma.$executeRawUnsafe("PRAGMA synchronous = NORMAL");
  return prisma;
}

/**
 * better-sqlite3 has a single connection. Prisma's adapter opens an interactive transaction on
 * it with BEGIN, and any query another request issues while that transaction awaits runs *inside*
 * it: a fulfilled write outside the transaction is silently undone by its rollback, and a second
 * BEGIN fails. This gate queues every statement and transaction behind the open transaction, so
 * a transaction is really isolated. Statements run synchronously, so the fast path costs nothing.
 */
export function serializeTransactions(factory: PrismaBetterSQLite3): AdapterFactory {
  const gate = new Gate();
  const connect = async (): Promise<SqliteAdapter> => {
    const adapter = await factory.connect();
    const gated: SqliteAdapter = {
      provider: adapter.provider,
      adapterName: adapter.adapterName,
      queryRaw: (query) => gate.run(() => adapter.queryRaw(query)),
      executeRaw: (query) => gate.run(() => adapter.executeRaw(query)),
      executeScript: (script) => gate.run(() => adapter.executeScript(script)),
      startTransaction: async (isolationLevel) => {
        const release = await gate.acquire();
        try {
          const transaction = await adapter.startTransaction(isolationLevel);
          return releasingOnEnd(transaction, release);
        } catch (error) {
          release();
          throw error;
        }
      },
      dispose: () => adapter.dispose(),
    };
    if (adapter.getConnectionInfo) gated.getConnectionInfo = () => adapter.getConnectionInfo!();
    return gated;
  };
  return { provider: factory.provider, adapterName: factory.adapterName, connect };
}

function releasingOnEnd(transaction: SqliteTransaction, release: () => void): SqliteTransaction {
  let released = false;
  const releaseOnce = () => {
    if (!released) {
      released = true;
      release();
    }
  };
  return {
    provider: transaction.provider,
    adapterName: transaction.adapterName,
    options: transaction.options,
    queryRaw: (query) => transaction.queryRaw(query),
    executeRaw: (query) => transaction.executeRaw(query),
    commit: () => transaction.commit().finally(releaseOnce),
    rollback: () => transaction.rollback().finally(releaseOnce),
  };
}

/** A FIFO mutex whose uncontended path runs the work synchronously. */
class Gate {
  private held = false;
  private readonly waiters: Array<() => void> = [];

  acquire(): Promise<() => void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve(() => this.release());
    }
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
