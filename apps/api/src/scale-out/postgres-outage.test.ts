/*
 * PostgreSQL going away and coming back, on a throwaway cluster (the shared server on 5432 is never
 * touched): the API answers 503 SERVICE_UNAVAILABLE within a bounded time, readiness
 * (/api/health/ready) says 503, and the same process serves again once the database is back.
 */
import { RegistrationRequiredSchema } from "@wxauth/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashOpaqueToken } from "../auth/opaque-tokens.js";
import { POSTGRES_CONNECT_TIMEOUT_MS, POSTGRES_QUERY_TIMEOUT_MS } from "../db/client.js";
import { applyMigrations } from "../db/migrate.js";
import {
  expectDatabaseUnavailable,
  expectServing,
  reportLatencies,
  requestsDuringTheOutage,
} from "../testing/outage.js";
import { startTestApi, uniquePhoneNumber, type TestApi } from "../testing/harness.js";
import { ThrowawayPostgres } from "../testing/throwaway-postgres.js";

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

describe("PostgreSQL goes away and comes back", () => {
  it("a crashed server: 503 at once on every route, health 503, recovery without a restart", async () => {
    const session = await api.register();
    const { code: loginDuringOutage } = await api.loginCode();
    await cluster.crash();
    let results: Awaited<ReturnType<typeof requestsDuringTheOutage>>;
    try {
      results = await requestsDuringTheOutage(api, session, loginDuringOutage);
    } finally {
      await cluster.start();
    }
    for (const [name, result] of Object.entries(results)) {
      expectDatabaseUnavailable(result, name);
      // A refused connection fails at once: nothing waits for a timeout.
      expect(result.elapsedMs, name).toBeLessThan(SLACK_MS);
    }
    reportLatencies("PostgreSQL crashed, 503 latencies (ms)", results);
    await expectServing(api, session);
    const { code } = await api.loginCode({ openid: session.openid });
    expect((await api.login(code)).status).toBe("authenticated");
  });

  it("a server that accepts connections but never answers: 503 within the timeouts, never a hang", async () => {
    const session = await api.register();
    const { code: loginDuringOutage } = await api.loginCode();
    await cluster.freeze();
    let results: Awaited<ReturnType<typeof requestsDuringTheOutage>>;
    try {
      results = await requestsDuringTheOutage(api, session, loginDuringOutage);
    } finally {
      await cluster.thaw();
    }
    for (const [name, result] of Object.entries(results)) {
      expectDatabaseUnavailable(result, name);
      // A pooled connection waits at most the query timeout; a new one the connect timeout.
      expect(result.elapsedMs, name).toBeLessThan(
        Math.max(POSTGRES_QUERY_TIMEOUT_MS, POSTGRES_CONNECT_TIMEOUT_MS) + SLACK_MS,
      );
    }
    reportLatencies("PostgreSQL frozen (SIGSTOP), 503 latencies (ms)", results);
    await expectServing(api, session);
  });
});

describe("a registration the database fails halfway (the server crashes while WeChat answers)", () => {
  it("answers 503, writes no account and leaves the ticket unused; the ticket redeems once its lease is over", async () => {
    const { code, openid } = await api.loginCode();
    const { registrationTicket } = RegistrationRequiredSchema.parse(await api.login(code));
    const phoneNumber = uniquePhoneNumber();
    const ticket = () =>
      api.deps.db
        .selectFrom("registration_tickets")
        .select(["used_at as usedAt", "claimed_until as claimedUntil"])
        .where("token_hash", "=", hashOpaqueToken(registrationTicket))
        .executeTakeFirstOrThrow();
    const userOf = () =>
      api.deps.data.wechatIdentities.findUser(api.deps.apps.primary.appid, openid);
    const register = async () =>
      api.request("POST", "/api/auth/wechat/register", {
        body: { registrationTicket, phoneCode: await api.phoneCode(phoneNumber, openid) },
      });

    // The redemption claims its ticket, then waits on a slow WeChat; the server goes meanwhile, so
    // the final transaction (and the ticket's release) meet a database that is not there.
    await api.fail({ api: "getuserphonenumber", delayMs: 1000 });
    const pending = register();
    await expect.poll(async () => (await ticket()).claimedUntil, { interval: 20 }).not.toBeNull();
    await cluster.crash();
    let refused: Awaited<typeof pending>;
    try {
      refused = await pending;
    } finally {
      await cluster.start();
    }
    expectDatabaseUnavailable(refused, "register");
    expect(await userOf()).toBeNull();
    expect((await ticket()).usedAt).toBeNull();

    // Past any lease, well inside the ticket's 10 minutes.
    api.clock.advance(60_000);
    expect((await register()).status).toBe(201);
    expect((await userOf())?.phone).toBe(`+86${phoneNumber}`);
  });
});
