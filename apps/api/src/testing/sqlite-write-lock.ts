/*
 * A second, independent SQLite connection on the API's database file, used to take locks the API
 * has to live with (another process holding the database).
 */
import Sqlite from "better-sqlite3";

/**
 * Holds the database's write lock (BEGIN EXCLUSIVE) from another connection until released. In
 * WAL mode readers still read; every writer waits for the lock and then gives up.
 */
export function holdWriteLock(filename: string): { release(): void } {
  const connection = new Sqlite(filename, { timeout: 0 });
  connection.exec("BEGIN EXCLUSIVE");
  return {
    release() {
      connection.exec("ROLLBACK");
      connection.close();
    },
  };
}
