import { AppError } from "../errors.js";

/**
 * Whether an operator's ban stands at `now`. A ban with an end lifts itself then: it is checked
 * here, at read time, on every request, so no job has to run on time (housekeeping clears the
 * columns later, for tidiness only).
 */
export function banInForce(
  ban: { bannedAt: Date | null; bannedUntil: Date | null },
  now: number,
): boolean {
  return ban.bannedAt !== null && (ban.bannedUntil === null || ban.bannedUntil.getTime() > now);
}

/** What a banned user's every request, refresh and login answers. */
export const accountDisabled = () => new AppError("ACCOUNT_DISABLED");
