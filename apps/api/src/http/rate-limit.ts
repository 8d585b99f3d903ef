import type { SharedStore } from "@wxauth/wechat";
import { rateLimit, type Options, type Store } from "express-rate-limit";
import { AppError } from "../errors.js";

const WINDOW_MS = 60_000;

/**
 * express-rate-limit's store over the API's one SharedStore: in memory for one process, and
 * shared by every instance as soon as the store is Redis, with no other change.
 */
export class SharedRateLimitStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  private windowMs = WINDOW_MS;

  constructor(
    private readonly store: SharedStore,
    prefix: string,
  ) {
    this.prefix = prefix;
  }

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async increment(key: string) {
    const { count, resetInMs } = await this.store.increment(this.prefix + key, this.windowMs);
    return { totalHits: count, resetTime: new Date(Date.now() + resetInMs) };
  }

  // Counters only ever grow within their window: this limiter never skips or refunds a request
  // (no skipSuccessfulRequests / skipFailedRequests) and never resets a client by hand.
  decrement(): void {}
  resetKey(): void {}
}

/** Per client IP on /api/auth/*: 429 RATE_LIMITED with Retry-After once over the limit. */
export function authRateLimit(store: SharedStore, limitPerMinute: number) {
  return rateLimit({
    windowMs: WINDOW_MS,
    limit: limitPerMinute,
    standardHeaders: "draft-7",
    legacyHeaders: false,
    store: new SharedRateLimitStore(store, "ratelimit:auth:"),
    // A store outage must not lock everyone out of signing in; the store logs it loudly.
    passOnStoreError: true,
    handler: (_req, _res, next) => next(new AppError("RATE_LIMITED")),
    // TRUST_PROXY decides whether X-Forwarded-For is believed; a stray header is not an error.
    validate: { xForwardedForHeader: false },
  });
}
