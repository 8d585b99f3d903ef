import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

/*
 * The embedded PostgreSQL of `pnpm dev`: PGlite (PostgreSQL compiled to WebAssembly, in this
 * process) served over PostgreSQL's wire protocol, so the API connects to it with node-postgres
 * like to any PostgreSQL server and has no second code path. Nothing to install.
 *
 * The socket server's connections share PGlite's single backend: transactions are serialized, not
 * interleaved, and a prepared statement outlives the connection that prepared it (the API names
 * its statements per connection: db/client.ts). Its default of one connection resets a pool's
 * others (ECONNRESET), so it takes as many as the API's pool and the Prisma CLI open together.
 */
const MAX_CONNECTIONS = 10;
/**
 * How often the prepared statements are dropped while no connection is open: no client is left
 * that could run them, and each keeps about 20 KB of PGlite's memory (3,000 took 64 MB), which an
 * API that reconnects after every idle spell would otherwise add to all day.
 */
export const STATEMENT_SWEEP_MS = 1000;

export interface EmbeddedPostgres {
  /** postgresql://postgres@host:port/postgres: PGlite has one database and no passwords. */
  url: string;
  close(): Promise<void>;
}

/** Opens (or first creates, an initdb of a few seconds) the database in `dataDir` and serves it. */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  host?: string;
}): Promise<EmbeddedPostgres> {
  const host = options.host ?? "127.0.0.1";
  mkdirSync(options.dataDir, { recursive: true });
  const db = await PGlite.create(options.dataDir);
  const server = new PGLiteSocketServer({
    db,
    host,
    port: options.port,
    maxConnections: MAX_CONNECTIONS,
  });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  // Checked and queued in one turn, so DEALLOCATE runs before a connection opening now can
  // prepare anything: pglite-socket (0.2.18) counts a connection a turn after accepting it, before
  // it reads a byte, and every statement waits for PGlite's lock, which DEALLOCATE takes first.
  const sweep = setInterval(() => {
    // A failure (PGlite closing) leaves the statements to the next sweep.
    if (server.getStats().activeConnections === 0) db.exec("DEALLOCATE ALL").catch(() => {});
  }, STATEMENT_SWEEP_MS);
  sweep.unref();
  return {
    url: `postgresql://postgres@${host}:${options.port}/postgres`,
    async close() {
      clearInterval(sweep);
      await server.stop();
      await db.close();
    },
  };
}
