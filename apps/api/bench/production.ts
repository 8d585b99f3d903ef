/*
 * The production backends for one bench run: a throwaway PostgreSQL database (the API migrates
 * it at start, as in production) and a key prefix of its own on the shared Redis. Both go away
 * after the run.
 */
import { randomUUID } from "node:crypto";
import {
  createTestDatabase,
  dropTestDatabase,
  uniqueTestDatabaseName,
  withAdminConnection,
} from "../src/testing/postgres.js";
import { TEST_REDIS_URL, deleteTestKeys } from "../src/testing/redis.js";

export interface ProductionBackends {
  env: { DATABASE_URL: string; REDIS_URL: string; REDIS_KEY_PREFIX: string };
  /**
   * Vacuums the database and writes its dirty pages out, as pgbench vacuums before each run: the
   * dead rows and dirty pages one login measurement leaves (thousands of upserts of the same
   * session_key rows) are not paid for by the measurement after it.
   */
  settle(): Promise<void>;
  /** Drops the database and deletes the keys; call it once every process using them stopped. */
  remove(): Promise<void>;
}

export async function productionBackends(): Promise<ProductionBackends> {
  const database = uniqueTestDatabaseName("wxauth_bench_");
  const databaseUrl = await createTestDatabase(database);
  const keyPrefix = `wxauth-bench:${randomUUID()}:`;
  return {
    env: { DATABASE_URL: databaseUrl, REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: keyPrefix },
    async settle() {
      await withAdminConnection(async (client) => {
        await client.query("VACUUM ANALYZE");
        await client.query("CHECKPOINT");
      }, databaseUrl);
    },
    async remove() {
      await Promise.all([dropTestDatabase(database), deleteTestKeys(keyPrefix)]);
    },
  };
}
