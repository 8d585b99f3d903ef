import type { AccessTokens } from "../auth/access-tokens.js";
import type { DataAccess } from "../db/data-access.js";
import { AppError } from "../errors.js";
import { contractRouter } from "../http/contract-route.js";

/** Ready means the database answers: a load balancer stops sending work to an instance that cannot. */
export function healthRouter(deps: { data: DataAccess; accessTokens: AccessTokens }) {
  const { router, mount } = contractRouter(deps.accessTokens);
  mount("health", async ({ req, res }) => {
    res.setHeader("Cache-Control", "no-store");
    try {
      await deps.data.ping();
    } catch (error) {
      req.log.error({ err: error }, "health check: database unreachable");
      throw new AppError("SERVICE_UNAVAILABLE", "The database is unreachable.");
    }
    return { status: "ok" as const };
  });
  return router;
}
