import type { SharedStore } from "@wxauth/wechat";
import type { RequestHandler } from "express";
import { ipKeyGenerator } from "express-rate-limit";
import { AppError } from "../errors.js";

const WINDOW_MS = 60_000;
const WINDOW_S = WINDOW_MS / 1000;
const KEY_PREFIX = "ratelimit:auth:";

/**
 * The counter's key for a client address (express-rate-limit's helper): IPv4 (also IPv4-mapped
 * IPv6) counts per address; IPv6 per /56, the smallest block a provider hands a customer, so a
 * client cannot step around its limit by rotating through the addresses of its own block.
 */
const clientKey = (ip: string) => ipKeyGenerator(ip, 56);

/**
 * Per client IP on /api/auth/*, a fixed one-minute window counted in the API's one SharedStore:
 * in memory for one process, and shared by every instance as soon as the store is Redis. Every
 * answer carries the IETF draft-7 headers (`RateLimit: limit=120, remaining=119, reset=60`,
 * `RateLimit-Policy: 120;w=60`); past the limit it is 429 RATE_LIMITED with `Retry-After`.
 *
 * The same headers and key as express-rate-limit (draft-7, IPv6 /56), which this replaced: its
 * per-request validations, debug formatting and three evaluations of `req.ip` (each one runs
 * proxy-addr over X-Forwarded-For) cost 55 us of a login's 0.73 ms (docs/benchmarks.md).
 */
export function authRateLimit(store: SharedStore, limitPerMinute: number): RequestHandler {
  const policy = `${limitPerMinute};w=${WINDOW_S}`;
  return async (req, res, next) => {
    let counter: { count: number; resetInMs: number };
    try {
      // TRUST_PROXY decides whether X-Forwarded-For is believed (Express computes req.ip).
      counter = await store.increment(KEY_PREFIX + clientKey(req.ip ?? ""), WINDOW_MS);
    } catch {
      // A store outage must not lock everyone out of signing in; the store logs it loudly.
      next();
      return;
    }
    const resetS = Math.max(0, Math.ceil(counter.resetInMs / 1000));
    const remaining = Math.max(limitPerMinute - counter.count, 0);
    res.setHeader("RateLimit-Policy", policy);
    res.setHeader("RateLimit", `limit=${limitPerMinute}, remaining=${remaining}, reset=${resetS}`);
    if (counter.count > limitPerMinute) {
      res.setHeader("Retry-After", String(resetS));
      throw new AppError("RATE_LIMITED");
    }
    next();
  };
}
