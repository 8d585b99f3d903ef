/*
 * A second, independent SQLite connection on the API's database file, used to take locks the API
 * has to live with (another process holding the database). better-sqlite3 is the driver under
 * Prisma's adapter; it is not a direct dependency of the API, so it is loaded from the adapter's
 * own dependencies rather than installed twice.
 */
import { createRequire } from "node:module";

/** The part of better-sqlite3's Database these tests use. */
export interface SqliteConnection {
  exec(sql: string): SqliteConnection;
  prepare(sql: string): { get(...params: unknown[]): unknown; run(...params: unknown[]): unknown };
  close(): void;
}

type SqliteConstructor = new (filename: string, options?: { timeout?: number }) => SqliteConnection;

const requireFromAdapter = createRequire(
  createRequire(import.meta.url).resolve("@prisma/adapter-better-sqlite3"),
);
const Sqlite = requireFromAdapter("better-sqlite3") as SqliteConstructor;

export function openSqlite(filename: string): SqliteConnection {
  return new Sqlite(filename, { timeout: 0 });
}

/**
 * Holds the database's write lock (BEGIN EXCLUSIVE) from another connection until released. In
 * WAL mode readers still read; every writer waits for the lock and then gives up.
 */
export function holdWriteLock(filename: string): { release(): void } {
  const connection = openSqlite(filename);
  connection.exec("BEGIN EXCLUSIVE");
  return {
    release() {
      connection.exec("ROLLBACK");
      connection.close();
    },
  };
}
