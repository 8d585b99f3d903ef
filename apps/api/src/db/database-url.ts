/**
 * The embedded PostgreSQL that `pnpm dev` starts (PGlite, scripts/dev.mjs): the database of
 * development when DATABASE_URL is unset. PGlite has one database, `postgres`; 5433 leaves 5432 to
 * a PostgreSQL server the machine may also run.
 */
export const DEV_DATABASE_PORT = 5433;
export const DEV_DATABASE_URL = `postgresql://postgres@127.0.0.1:${DEV_DATABASE_PORT}/postgres`;
