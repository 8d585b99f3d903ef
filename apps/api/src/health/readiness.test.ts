/*
 * Readiness against real outages, on a throwaway PostgreSQL cluster and a throwaway Redis (the
 * shared servers are never touched): /api/health/ready answers 503 naming the part that is down,
 * within its one-second budget, and 200 again once it is back, while /api/health (liveness) stays
 * 200 throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../db/migrate.js";
import { ThrowawayPostgres } from "../testing/throwaway-postgres.js";
import { randomKeyPrefix, ThrowawayRedis } from "../testing/redis.js";
import {
  expectErrorBody,
  type HttpResult,
  startTestApi,
  type TestApi,
} from "../testing/harness.js";
import { READINESS_TIMEOUT_MS } from "./health.router.js";

/** Room for a loaded 2-core machine on top of the readiness budget. */
const SLACK_MS = 1500;

let cluster: ThrowawayPostgres;
let redis: ThrowawayRedis;
let api: TestApi;

beforeAll(async () => {
  [cluster, redis] = await Promise.all([ThrowawayPostgres.start(), ThrowawayRedis.start()]);
  const databaseUrl = cluster.url("postgres");
  await applyMigrations(databaseUrl);
  api = await startTestApi({
    env: { DATABASE_URL: databaseUrl, REDIS_URL: redis.url, REDIS_KEY_PREFIX: randomKeyPrefix() },
  });
}, 120_000);

afterAll(async () => {
  await api?.close();
  await Promise.all([cluster?.destroy(), redis?.stop()]);
});

async function timedReadiness(): Promise<HttpResult & { elapsedMs: number }> {
  const started = performance.now();
  const result = await api.request("GET", "/api/health/ready");
  return { ...result, elapsedMs: performance.now() - started };
}

/** 503 SERVICE_UNAVAILABLE, retryable, its message naming `part` (and only the parts down). */
function expectNotReady(result: HttpResult, part: string, notNamed: string) {
  expect(result.status, result.text).toBe(503);
  const { error } = expectErrorBody(result, "SERVICE_UNAVAILABLE");
  expect(error.retryable).toBe(true);
  expect(error.message).toContain(`Not ready: ${part}`);
  expect(error.message).not.toContain(notNamed);
  expect(result.headers["cache-control"]).toBe("no-store");
}

async function expectReady(): Promise<void> {
  const ready = await api.request("GET", "/api/health/ready");
  expect(ready.status, ready.text).toBe(200);
  expect(ready.body).toEqual({ status: "ok" });
}

describe("readiness", () => {
  it("is ready with PostgreSQL and Redis up", async () => {
    await expectReady();
  });

  it("PostgreSQL crashed: 503 naming the database at once, liveness 200, ready again once it is back", async () => {
    await cluster.crash();
    try {
      const result = await timedReadiness();
      expectNotReady(result, "the database", "Redis");
      expect(result.elapsedMs).toBeLessThan(READINESS_TIMEOUT_MS + SLACK_MS);
      expect((await api.request("GET", "/api/health")).status).toBe(200);
    } finally {
      await cluster.start();
    }
    await expectReady();
  });

  it("PostgreSQL accepting connections but never answering: 503 within the 1 s budget", async () => {
    await cluster.freeze();
    try {
      const result = await timedReadiness();
      expectNotReady(result, "the database", "Redis");
      expect(result.elapsedMs).toBeGreaterThanOrEqual(READINESS_TIMEOUT_MS - 50);
      expect(result.elapsedMs).toBeLessThan(READINESS_TIMEOUT_MS + SLACK_MS);
      expect((await api.request("GET", "/api/health")).status).toBe(200);
    } finally {
      await cluster.thaw();
    }
    await expect
      .poll(() => api.request("GET", "/api/health/ready").then((r) => r.status), {
        timeout: 15_000,
      })
      .toBe(200);
  });

  it("Redis down: 503 naming Redis, liveness 200, ready again once it is back", async () => {
    await redis.stop();
    try {
      const result = await timedReadiness();
      expectNotReady(result, "Redis", "the database");
      expect(result.elapsedMs).toBeLessThan(READINESS_TIMEOUT_MS + SLACK_MS);
      expect((await api.request("GET", "/api/health")).status).toBe(200);
    } finally {
      await redis.start();
    }
    // The store reconnects in the background, within its longest back-off (2 s).
    await expect
      .poll(() => api.request("GET", "/api/health/ready").then((r) => r.status), {
        timeout: 15_000,
      })
      .toBe(200);
  });

  it("both down: the message names both", async () => {
    await Promise.all([cluster.crash(), redis.stop()]);
    try {
      const result = await api.request("GET", "/api/health/ready");
      expect(result.status).toBe(503);
      expect(expectErrorBody(result, "SERVICE_UNAVAILABLE").error.message).toContain(
        "Not ready: the database and Redis",
      );
    } finally {
      await Promise.all([cluster.start(), redis.start()]);
    }
    await expect
      .poll(() => api.request("GET", "/api/health/ready").then((r) => r.status), {
        timeout: 15_000,
      })
      .toBe(200);
  });
});
