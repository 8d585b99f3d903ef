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
} from "../src/testing/postgres.js";
import { TEST_REDIS_URL, deleteTestKeys } from "../src/testing/redis.js";

export interface ProductionBackends {
  env: { DATABASE_URL: string; REDIS_URL: string; REDIS_KEY_PREFIX: string };
  /** Drops the database and deletes the keys; call it once every process using them stopped. */
  remove(): Promise<void>;
}

export async function productionBackends(): Promise<ProductionBackends> {
  const database = uniqueTestDatabaseName("wxauth_bench_");
  const databaseUrl = await createTestDatabase(database);
  const keyPrefix = `wxauth-bench:${randomUUID()}:`;
  return {
    env: { DATABASE_URL: databaseUrl, REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: keyPrefix },
    async remove() {
      await Promise.all([dropTestDatabase(database), deleteTestKeys(keyPrefix)]);
    },
  };
}
