import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

/*
 * The embedded PostgreSQL of `pnpm dev`: PGlite (PostgreSQL compiled to WebAssembly, in this
 * process) served over PostgreSQL's wire protocol, so the API connects to it with node-postgres
 * like to any PostgreSQL server and has no second code path. Nothing to install.
 *
 * The socket server's connections share PGlite's single backend: transactions are serialized, not
 * interleaved, and named prepared statements would collide across connections (the API sends
 * unnamed ones only). Its default of one connection resets a pool's others (ECONNRESET), so it
 * takes as many as the API's pool and the Prisma CLI open together.
 */
const MAX_CONNECTIONS = 10;

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
  return {
    url: `postgresql://postgres@${host}:${options.port}/postgres`,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}
