/*
 * PostgreSQL going away and coming back, on a throwaway cluster (the shared server on 5432 is never
 * touched): the API answers 503 SERVICE_UNAVAILABLE within a bounded time, /api/health says 503,
 * and the same process serves again once the database is back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POSTGRES_CONNECT_TIMEOUT_MS, POSTGRES_QUERY_TIMEOUT_MS } from "../db/client.js";
import { applyMigrations } from "../db/migrate.js";
import { reportFigure } from "../resilience/figures.js";
import { expectErrorBody, startTestApi, type HttpResult, type TestApi } from "../test/harness.js";
import { ThrowawayPostgres } from "./throwaway-postgres.js";

/** Room for a loaded 2-core machine on top of the time the API is allowed to wait. */
const SLACK_MS = 2500;

let cluster: ThrowawayPostgres;
let api: TestApi;

beforeAll(async () => {
  cluster = await ThrowawayPostgres.start();
  const databaseUrl = cluster.url("postgres");
  await applyMigrations(databaseUrl);
  api = await startTestApi({ env: { DATABASE_URL: databaseUrl } });
}, 120_000);

afterAll(async () => {
  await api?.close();
  await cluster?.destroy();
});

async function timed(request: Promise<HttpResult>): Promise<HttpResult & { elapsedMs: number }> {
  const started = performance.now();
  const result = await request;
  return { ...result, elapsedMs: Math.round(performance.now() - started) };
}

function expectUnavailable(result: HttpResult, what: string): void {
  expect(result.status, `${what}: ${result.text.slice(0, 200)}`).toBe(503);
  expect(expectErrorBody(result, "SERVICE_UNAVAILABLE").error.retryable).toBe(true);
}

/** One request per kind of database work: health, a read, a rotation, a login. */
async function requestsDuringTheOutage(session: { accessToken: string; refreshToken: string }) {
  const { code } = await api.loginCode();
  return {
    health: await timed(api.request("GET", "/api/health")),
    getMe: await timed(api.request("GET", "/api/me", { token: session.accessToken })),
    refresh: await timed(
      api.request("POST", "/api/auth/refresh", { body: { refreshToken: session.refreshToken } }),
    ),
    login: await timed(api.request("POST", "/api/auth/wechat/login", { body: { code } })),
  };
}

async function expectServing(session: {
  accessToken: string;
  refreshToken: string;
  user: { id: string };
}) {
  expect((await api.request("GET", "/api/health")).status).toBe(200);
  const me = await api.request("GET", "/api/me", { token: session.accessToken });
  expect(me.status).toBe(200);
  expect((me.body as { id: string }).id).toBe(session.user.id);
  // The failed refresh attempts rotated nothing: the same refresh token still works.
  const refreshed = await api.request("POST", "/api/auth/refresh", {
    body: { refreshToken: session.refreshToken },
  });
  expect(refreshed.status).toBe(200);
  return refreshed.body as { accessToken: string; refreshToken: string };
}

describe("PostgreSQL goes away and comes back", () => {
  it("a crashed server: 503 at once on every route, health 503, recovery without a restart", async () => {
    const session = await api.register();
    await cluster.crash();
    let results: Awaited<ReturnType<typeof requestsDuringTheOutage>>;
    try {
      results = await requestsDuringTheOutage(session);
    } finally {
      await cluster.start();
    }
    for (const [name, result] of Object.entries(results)) {
      expectUnavailable(result, name);
      // A refused connection fails at once: nothing waits for a timeout.
      expect(result.elapsedMs, name).toBeLessThan(SLACK_MS);
    }
    reportFigure(
      "PostgreSQL crashed, 503 latencies (ms)",
      Object.fromEntries(Object.entries(results).map(([name, r]) => [name, r.elapsedMs])),
    );
    await expectServing(session);
    const { code } = await api.loginCode({ openid: session.openid });
    expect((await api.login(code)).status).toBe("authenticated");
  });

  it("a server that accepts connections but never answers: 503 within the timeouts, never a hang", async () => {
    const session = await api.register();
    await cluster.freeze();
    let results: Awaited<ReturnType<typeof requestsDuringTheOutage>>;
    try {
      results = await requestsDuringTheOutage(session);
    } finally {
      await cluster.thaw();
    }
    for (const [name, result] of Object.entries(results)) {
      expectUnavailable(result, name);
      // A pooled connection waits at most the query timeout; a new one the connect timeout.
      expect(result.elapsedMs, name).toBeLessThan(
        Math.max(POSTGRES_QUERY_TIMEOUT_MS, POSTGRES_CONNECT_TIMEOUT_MS) + SLACK_MS,
      );
    }
    reportFigure(
      "PostgreSQL frozen (SIGSTOP), 503 latencies (ms)",
      Object.fromEntries(Object.entries(results).map(([name, r]) => [name, r.elapsedMs])),
    );
    await expectServing(session);
  });
});
