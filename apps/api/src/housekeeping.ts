import type { Dependencies } from "./dependencies.js";

const INTERVAL_MS = 60_000;

/**
 * Periodic clean-up: a rotated token's successor is kept (encrypted) for the grace window only,
 * and expired registration tickets are dropped. Returns a stop function.
 */
export function startHousekeeping(
  deps: Pick<Dependencies, "data" | "clock" | "config" | "logger">,
) {
  const run = async () => {
    const now = deps.clock.now();
    try {
      const forgotten = await deps.data.refreshTokens.forgetSuccessorsRotatedBefore(
        new Date(now - deps.config.refreshReuseGraceS * 1000),
      );
      const dropped = await deps.data.registrationTickets.deleteExpired(new Date(now));
      if (forgotten + dropped > 0) deps.logger.debug({ forgotten, dropped }, "housekeeping");
    } catch (error) {
      deps.logger.warn({ err: error }, "housekeeping failed; will retry");
    }
  };
  const timer = setInterval(() => void run(), INTERVAL_MS);
  timer.unref();
  void run();
  return () => clearInterval(timer);
}
