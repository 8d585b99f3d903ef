import type { SharedStore } from "@wxauth/wechat";
import type { RequestHandler } from "express";
import { rateLimit, type IncrementResponse, type Store } from "express-rate-limit";
import type { Logger } from "pino";
import { AppError } from "../errors.js";

const WINDOW_MS = 60_000;

/**
 * express-rate-limit's counters in the API's one SharedStore: in memory for one process, and shared
 * by every instance as soon as the store is Redis (whose own outage falls back to per-instance
 * counters, see ResilientStore).
 */
class SharedCounterStore implements Store {
  readonly prefix = "ratelimit:auth:";
  /** The keys are shared with every other instance on the same store. */
  readonly localKeys = false;

  constructor(private readonly store: SharedStore) {}

  async increment(key: string): Promise<IncrementResponse> {
    const { count, resetInMs } = await this.store.increment(this.prefix + key, WINDOW_MS);
    return { totalHits: count, resetTime: new Date(Date.now() + resetInMs) };
  }

  // Only called for skipFailedRequests / skipSuccessfulRequests, or by an explicit reset: the
  // limiter below uses neither, and a SharedStore counter has no way down but to expire.
  decrement(): never {
    throw new Error("the auth rate limit never decrements");
  }

  resetKey(): never {
    throw new Error("the auth rate limit never resets a key");
  }
}

/**
 * Per client IP on /api/auth/*, a fixed one-minute window: every answer carries the IETF draft-7
 * headers (`RateLimit: limit=120, remaining=119, reset=60`, `RateLimit-Policy: 120;w=60`); past
 * the limit it is 429 RATE_LIMITED with `Retry-After`. IPv4 counts per address, IPv6 per /56 (the
 * smallest block a provider hands a customer, so a client cannot rotate through its own block).
 * TRUST_PROXY decides whether X-Forwarded-For is believed (Express computes req.ip).
 */
export function authRateLimit(
  store: SharedStore,
  limitPerMinute: number,
  logger: Logger,
): RequestHandler {
  return rateLimit({
    windowMs: WINDOW_MS,
    limit: limitPerMinute,
    standardHeaders: "draft-7",
    legacyHeaders: false,
    ipv6Subnet: 56,
    store: new SharedCounterStore(store),
    // A store outage must not lock everyone out of signing in; the store logs it loudly.
    passOnStoreError: true,
    handler: (_req, _res, next) => next(new AppError("RATE_LIMITED")),
    logger,
    // Any client can send X-Forwarded-For; whether it is believed is TRUST_PROXY's decision.
    validate: { xForwardedForHeader: false },
  });
}
