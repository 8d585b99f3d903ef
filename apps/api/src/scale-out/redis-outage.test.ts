/*
 * Redis going away and coming back, on a throwaway redis-server (the shared one on 6379 is never
 * touched): logins and registrations keep working on process-local fallbacks, the outage is logged
 * at error level, and the shared store is used again once Redis returns, without a restart.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reportFigure } from "../testing/figures.js";
import { randomKeyPrefix, ThrowawayRedis, waitFor } from "../testing/redis.js";
import { startTestApi, type TestApi } from "../testing/harness.js";

let redis: ThrowawayRedis;
let api: TestApi;

beforeAll(async () => {
  redis = await ThrowawayRedis.start();
  api = await startTestApi({
    env: { REDIS_URL: redis.url, REDIS_KEY_PREFIX: randomKeyPrefix() },
    captureLogs: "info",
  });
}, 60_000);

afterAll(async () => {
  await api?.close();
  await redis?.stop();
});

/** The keys the API wrote to the throwaway Redis (a fresh server: only this API writes there). */
async function keysInRedis(): Promise<string[]> {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    return await client.keys("*");
  } finally {
    client.disconnect();
  }
}

function logLines(level: "error" | "info", message: RegExp): string[] {
  const levelNumber = level === "error" ? 50 : 30;
  return api.logs.filter((line) => {
    const entry = JSON.parse(line) as { level?: number; msg?: string };
    return entry.level === levelNumber && message.test(entry.msg ?? "");
  });
}

describe("Redis goes away and comes back", () => {
  it("keeps serving logins and registrations, logs the outage loudly, and uses Redis again once it returns", async () => {
    const before = await api.register();
    expect(await keysInRedis()).not.toEqual([]);

    await redis.stop();
    const started = performance.now();
    // A new user (WeChat code exchange, access token, phone number) and a returning one.
    const during = await api.register();
    const { code } = await api.loginCode({ openid: before.openid });
    const returning = await api.login(code);
    const outageServedMs = Math.round(performance.now() - started);
    expect(during.user.phone).not.toBeNull();
    expect(returning.status).toBe("authenticated");
    expect(logLines("error", /Redis is unavailable/)).not.toEqual([]);

    await redis.start();
    // The store reconnects in the background; the next requests go to Redis again.
    await waitFor(() => logLines("info", /Redis is back/).length > 0, {
      what: "the API to report Redis back",
    });
    const { code: after } = await api.loginCode({ openid: during.openid });
    expect((await api.login(after)).status).toBe("authenticated");
    // The login's code memo and rate-limit count are in the restarted (empty) Redis.
    expect((await keysInRedis()).length).toBeGreaterThan(0);
    reportFigure("Redis down: one registration and one login served locally (ms)", outageServedMs);
  });
});
