/*
 * What the database fault suites (src/scale-out) ask of the API while its database is away and
 * once it is back.
 */
import { expect } from "vitest";
import { expectErrorBody, type HttpResult, type TestApi } from "./harness.js";
import { reportFigure } from "./figures.js";

export type Timed = HttpResult & { elapsedMs: number };

/** The answer to `request`, with how long it took in ms. */
export async function timed(request: Promise<HttpResult>): Promise<Timed> {
  const started = performance.now();
  const result = await request;
  return { ...result, elapsedMs: Math.round(performance.now() - started) };
}

/** 503 SERVICE_UNAVAILABLE, retryable, with Retry-After: a database away, never a 500 or a hang. */
export function expectDatabaseUnavailable(result: HttpResult, what = ""): void {
  expect(result.status, `${what}: ${result.text.slice(0, 200)}`).toBe(503);
  expect(expectErrorBody(result, "SERVICE_UNAVAILABLE").error.retryable).toBe(true);
  expect(result.headers["retry-after"], what).toBeDefined();
}

interface Session {
  accessToken: string;
  refreshToken: string;
  user: { id: string };
}

/** One request per kind of database work: health, a read, a rotation, a login (with `code`). */
export async function requestsDuringTheOutage(api: TestApi, session: Session, code: string) {
  return {
    health: await timed(api.request("GET", "/api/health/ready")),
    getMe: await timed(api.request("GET", "/api/me", { token: session.accessToken })),
    refresh: await timed(
      api.request("POST", "/api/auth/refresh", { body: { refreshToken: session.refreshToken } }),
    ),
    login: await timed(api.request("POST", "/api/auth/wechat/login", { body: { code } })),
  };
}

/** Prints how long each request took to be refused. */
export function reportLatencies(label: string, results: Record<string, Timed>): void {
  reportFigure(
    label,
    Object.fromEntries(Object.entries(results).map(([name, result]) => [name, result.elapsedMs])),
  );
}

/**
 * The same process serves again: health, the session's user, and its refresh token, which the
 * refused refreshes rotated nothing of. Resolves the refreshed pair.
 */
export async function expectServing(api: TestApi, session: Session) {
  expect((await api.request("GET", "/api/health/ready")).status).toBe(200);
  const me = await api.request("GET", "/api/me", { token: session.accessToken });
  expect(me.status).toBe(200);
  expect((me.body as { id: string }).id).toBe(session.user.id);
  const refreshed = await api.request("POST", "/api/auth/refresh", {
    body: { refreshToken: session.refreshToken },
  });
  expect(refreshed.status).toBe(200);
  return refreshed.body as { accessToken: string; refreshToken: string };
}
