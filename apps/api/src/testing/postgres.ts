/*
 * Test databases on the shared PostgreSQL: one migrated template per run, and a copy of it per
 * suite (`CREATE DATABASE ... TEMPLATE`, a file copy inside the server, far cheaper than migrating).
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export const TEST_POSTGRES_HOST = "127.0.0.1";
export const TEST_POSTGRES_PORT = 5432;

/** The URL of `database` on the shared test server (user postgres, trust auth). */
export function testPostgresUrl(database: string): string {
  return `postgresql://postgres@${TEST_POSTGRES_HOST}:${TEST_POSTGRES_PORT}/${database}`;
}

const ADMIN_URL = testPostgresUrl("postgres");

/** Every database the tests create starts with this, so a crashed run's leftovers are recognisable. */
export const TEST_DATABASE_PREFIX = "wxauth_test_";

/** Runs `work` on a connection to the server's `postgres` database. */
export async function withAdminConnection<T>(
  work: (client: pg.Client) => Promise<T>,
  adminUrl = ADMIN_URL,
): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Throws the error every PostgreSQL test shows when the server is missing: fail, never skip. */
export async function requirePostgres(
  host = TEST_POSTGRES_HOST,
  port = TEST_POSTGRES_PORT,
): Promise<void> {
  try {
    await withAdminConnection(
      (client) => client.query("SELECT 1"),
      `postgresql://postgres@${host}:${port}/postgres`,
    );
  } catch (error) {
    throw new Error(
      `PostgreSQL is required at ${host}:${port} (user postgres, trust auth) ` +
        `for the API's tests, and connecting failed: ${(error as Error).message}. ` +
        "Start one (e.g. `pg_ctlcluster 15 main start`).",
      { cause: error },
    );
  }
}

/** A database name no other suite, process or concurrent run uses, starting with `prefix`. */
export function uniqueTestDatabaseName(prefix = TEST_DATABASE_PREFIX): string {
  return `${prefix}${process.pid}_${randomBytes(4).toString("hex")}`;
}

function quoted(identifier: string): string {
  if (!/^[a-z0-9_]+$/.test(identifier)) throw new Error(`unexpected database name ${identifier}`);
  return `"${identifier}"`;
}

/** Creates a database, empty or as a copy of `template`, and returns its URL. */
export async function createTestDatabase(name: string, template?: string): Promise<string> {
  await withAdminConnection((client) =>
    client.query(
      `CREATE DATABASE ${quoted(name)}${template ? ` TEMPLATE ${quoted(template)}` : ""}`,
    ),
  );
  return testPostgresUrl(name);
}

/** Drops a database, ending any connection a crashed suite left open on it. */
export async function dropTestDatabase(name: string): Promise<void> {
  await withAdminConnection((client) =>
    client.query(`DROP DATABASE IF EXISTS ${quoted(name)} WITH (FORCE)`),
  );
}

/** Drops every database whose name starts with `prefix` (a run's leftovers). */
export async function dropTestDatabasesStartingWith(prefix: string): Promise<void> {
  const names = await withAdminConnection(async (client) => {
    const result = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
      [prefix],
    );
    return result.rows.map((row) => row.datname);
  });
  for (const name of names) await dropTestDatabase(name);
}

/**
 * An empty database of its own on the test server, for a process that migrates at start (the
 * built API does): other packages' end-to-end tests. Fails with requirePostgres's message when
 * the server is missing.
 */
export async function createEmptyTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  await requirePostgres();
  const name = uniqueTestDatabaseName();
  const url = await createTestDatabase(name);
  return { url, drop: () => dropTestDatabase(name) };
}
