/*
 * Shutdown on PostgreSQL never hangs: SIGTERM right after start exits 0 within 10 s; and the
 * database's close() finishes even when a transaction is halfway through starting. A proxy in front of PostgreSQL
 * (stalling-proxy.ts) holds the answer to that transaction's BEGIN, so the race is not left to
 * chance.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDatabase } from "../db/client.js";
import { ensureBuilt, startApiProcess, type ApiProcess } from "../testing/api-process.js";
import { reportFigure } from "../testing/figures.js";
import {
  createTestDatabase,
  dropTestDatabase,
  TEST_POSTGRES_HOST,
  TEST_POSTGRES_PORT,
  uniqueTestDatabaseName,
} from "../testing/postgres.js";
import { StallingProxy } from "../testing/stalling-proxy.js";

const EXIT_WITHIN_MS = 10_000;
/** Long enough for the shutdown to reach the database's close while BEGIN is still unanswered. */
const HOLD_AFTER_SIGNAL_MS = 500;
const RESTARTS = 3;

const databases: string[] = [];
const proxies: StallingProxy[] = [];
const processes: ApiProcess[] = [];

beforeAll(() => ensureBuilt(), 120_000);

afterAll(async () => {
  for (const api of processes) if (api.child.exitCode === null) api.child.kill("SIGKILL");
  await Promise.all(proxies.map((proxy) => proxy.close()));
  for (const name of databases) await dropTestDatabase(name);
});

/** A migrated database of its own (a copy of the run's template). */
async function migratedDatabase(): Promise<string> {
  const { template } = inject("testDatabase");
  const name = uniqueTestDatabaseName(template);
  databases.push(name);
  return createTestDatabase(name, template);
}

async function stallingProxy(): Promise<StallingProxy> {
  const proxy = await StallingProxy.start({ host: TEST_POSTGRES_HOST, port: TEST_POSTGRES_PORT });
  proxies.push(proxy);
  return proxy;
}

function within<T>(ms: number, promise: Promise<T>): Promise<T | "timeout"> {
  return Promise.race([promise, sleep(ms, "timeout" as const)]);
}

async function startApi(databaseUrl: string): Promise<ApiProcess> {
  const api = await startApiProcess({ NODE_ENV: "development", DATABASE_URL: databaseUrl });
  processes.push(api);
  await expect
    .poll(() => fetch(`${api.url}/api/health`).then((r) => r.status, String), { timeout: 30_000 })
    .toBe(200);
  return api;
}

async function sigtermAndWait(
  api: ApiProcess,
): Promise<{ exitCode: number | null | "timeout"; ms: number }> {
  const signalledAt = performance.now();
  api.child.kill("SIGTERM");
  const exitCode = await within(EXIT_WITHIN_MS, api.exited);
  return { exitCode, ms: Math.round(performance.now() - signalledAt) };
}

describe("shutdown on PostgreSQL", () => {
  // The scenario as reported. Left to chance it hits the race only now and then (it did in 2 of 5
  // starts that migrated an empty database while `migrate deploy` still took 12 s); the held BEGIN
  // above is what makes it certain.
  it(`${RESTARTS} restarts, SIGTERM as soon as /api/health answers: each exits 0 within 10 s`, async () => {
    const databaseUrl = await migratedDatabase();
    const exitMs: number[] = [];
    for (let restart = 0; restart < RESTARTS; restart++) {
      const api = await startApi(databaseUrl);
      const { exitCode, ms } = await sigtermAndWait(api);
      expect(exitCode, api.output().slice(-3000)).toBe(0);
      exitMs.push(ms);
    }
    reportFigure("SIGTERM right after start: exit after (ms)", exitMs);
  }, 120_000);

  it("close() while a transaction is starting finishes, and the transaction does not run", async () => {
    const proxy = await stallingProxy();
    const db = createDatabase(proxy.urlFor(await migratedDatabase()));
    let ran = false;
    const transaction = db.transaction().execute(async (tx) => {
      ran = true;
      return tx.selectFrom("users").select("id").execute();
    });
    transaction.catch(() => {});
    expect(await within(10_000, proxy.beginHeld)).not.toBe("timeout");

    const disconnected = db.destroy();
    await sleep(HOLD_AFTER_SIGNAL_MS);
    proxy.release();

    expect(await within(5_000, disconnected)).not.toBe("timeout");
    await expect(transaction).rejects.toThrow();
    expect(ran).toBe(false);
  }, 30_000);
});
