import type { Dependencies } from "./dependencies.js";

const INTERVAL_MS = 60_000;

/**
 * Periodic clean-up: a rotated token's successor is kept (encrypted) for the grace window only,
 * expired registration tickets are dropped, and accounts whose deletion is due are purged. Returns a stop function, which starts no further
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
      if (forgotten + dropped + purged > 0) {
        deps.logger.debug({ forgotten, dropped, purged }, "housekeeping");
      }
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
