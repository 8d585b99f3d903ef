import { liveSessionCutoffs } from "./admin/operators.service.js";
import type { Dependencies } from "./dependencies.js";
import { SECURITY_EVENT_RETENTION_DAYS } from "./security-events/security-events.js";

const INTERVAL_MS = 60_000;

/**
 * Periodic clean-up: a rotated token's successor is kept (encrypted) for the grace window only,
 * expired registration tickets are dropped, accounts whose deletion is due are purged, security
 * events older than 180 days are deleted, bans whose end has passed are cleared (they stopped
 * counting already) and ended operator sessions are dropped. Returns a stop function, which starts no further
 * run and resolves once the run in flight (the first one runs at once, at start) has finished:
 * the database must not be closed under it.
 */
export function startHousekeeping(
  deps: Pick<Dependencies, "data" | "clock" | "config" | "logger" | "accountDeletion">,
): () => Promise<void> {
  let stopped = false;
  let running: Promise<void> | undefined;
  const run = async () => {
    const now = deps.clock.now();
    try {
      const forgotten = await deps.data.sessions.forgetSuccessorsRotatedBefore(
        new Date(now - deps.config.refreshReuseGraceS * 1000),
      );
      const dropped = await deps.data.registrationTickets.deleteExpired(new Date(now));
      const purged = await deps.accountDeletion.purgeDue();
      const eventsExpired = await deps.data.securityEvents.deleteOlderThan(
        new Date(now - SECURITY_EVENT_RETENTION_DAYS * 86_400_000),
      );
      const bansEnded = await deps.data.users.clearBansEndedBefore(new Date(now));
      const operatorSessionsEnded = await deps.data.operators.deleteEndedSessions(
        liveSessionCutoffs(now),
      );
      const done = { forgotten, dropped, purged, eventsExpired, bansEnded, operatorSessionsEnded };
      if (Object.values(done).some((count) => count > 0)) deps.logger.debug(done, "housekeeping");
    } catch (error) {
      deps.logger.warn({ err: error }, "housekeeping failed; will retry");
    }
  };
  const runUnlessStopped = () => {
    // A run still going (a slow database) is not joined by a second one.
    if (stopped || running) return;
    running = run().finally(() => (running = undefined));
  };
  const timer = setInterval(runUnlessStopped, INTERVAL_MS);
  timer.unref();
  runUnlessStopped();
  return () => {
    stopped = true;
    clearInterval(timer);
    return running ?? Promise.resolve();
  };
}
