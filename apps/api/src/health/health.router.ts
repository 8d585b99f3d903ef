import { setTimeout as sleep } from "node:timers/promises";
import type { Authenticate } from "../http/authenticate.js";
import type { DataAccess } from "../db/data-access.js";
import { AppError } from "../errors.js";
import { contractRouter } from "../http/contract-route.js";

/** A dependency slower than this counts as down: a load balancer's probe should not wait longer. */
export const READINESS_TIMEOUT_MS = 1000;

/** Resolves with the failure's description, or undefined once `check` answered in time. */
async function failureOf(check: () => Promise<unknown>): Promise<string | undefined> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      check().then(
        () => undefined,
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      ),
      sleep(READINESS_TIMEOUT_MS, `no answer within ${READINESS_TIMEOUT_MS} ms`, {
        signal: timer.signal,
      }),
    ]);
  } finally {
    timer.abort();
  }
}

/**
 * Liveness (`/api/health`): the process answers HTTP, whatever its dependencies do, so an
 * orchestrator restarts only a process that is stuck, never every instance during a database
 * outage. Readiness (`/api/health/ready`): the database, and Redis when one is configured, answer
 * within a second; a load balancer stops sending work to an instance that fails it.
 */
export function healthRouter(deps: {
  data: DataAccess;
  pingRedis: (() => Promise<void>) | undefined;
  authenticate: Authenticate;
}) {
  const checks: [part: string, check: () => Promise<unknown>][] = [
    ["the database", () => deps.data.ping()],
  ];
  if (deps.pingRedis) checks.push(["Redis", deps.pingRedis]);

  const { router, mount } = contractRouter(deps.authenticate);
  mount("health", async ({ res }) => {
    res.setHeader("Cache-Control", "no-store");
    return { status: "ok" as const };
  });
  mount("healthReady", async ({ req, res }) => {
    res.setHeader("Cache-Control", "no-store");
    const results = await Promise.all(
      checks.map(async ([part, check]) => ({ part, failure: await failureOf(check) })),
    );
    const failing = results.filter((result) => result.failure !== undefined);
    if (failing.length > 0) {
      req.log.warn({ failing }, "readiness check failed");
      const parts = failing.map(({ part }) => part).join(" and ");
      throw new AppError(
        "SERVICE_UNAVAILABLE",
        `Not ready: ${parts} did not answer within ${READINESS_TIMEOUT_MS / 1000} s.`,
      );
    }
    return { status: "ok" as const };
  });
  return router;
}
