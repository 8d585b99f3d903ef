/** Where the API reads the time, so tests can move it (ticket expiry, token expiry, grace windows). */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
