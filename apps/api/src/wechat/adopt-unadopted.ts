import type { Logger } from "pino";
import type { DataAccess } from "../db/data-access.js";

/**
 * Start-up, after the migrations: the rows written before the API knew several apps (the
 * migration 20261213090000_wechat_identities gave them the appid `unadopted`, since SQL cannot know
 * the configured one) become the first configured app's, the app the deployment served until then.
 * Idempotent: once done it finds nothing (at the cost of a scan of sessions and tickets at each
 * start); instances that start together each run it harmlessly. Resolves how many rows moved, by table.
 */
export async function adoptUnadopted(
  data: Pick<DataAccess, "transaction">,
  appid: string,
  logger: Logger,
): Promise<Record<string, number>> {
  const moved = await data.transaction(async (repositories) => ({
    wechatIdentities: await repositories.wechatIdentities.adoptUnadopted(appid),
    wechatSessionKeys: await repositories.wechatSessionKeys.adoptUnadopted(appid),
    registrationTickets: await repositories.registrationTickets.adoptUnadopted(appid),
    sessions: await repositories.sessions.adoptUnadopted(appid),
  }));
  if (Object.values(moved).some((count) => count > 0)) {
    logger.info({ appid, moved }, "rows from before several apps adopted for the first app");
  }
  return moved;
}
