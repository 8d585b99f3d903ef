/**
 * The public shapes of @wxauth/wechat. The API codes against these; keep them stable.
 */
import type { Dispatcher } from "undici";

/**
 * A small key-value store shared by every process that talks to one appid. The in-memory
 * implementation serves a single process; the API plugs in Redis to share the access token,
 * the code-exchange memo and rate-limit counters across instances.
 */
export interface SharedStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets the key only when it is absent (SET NX PX). Resolves true when this call set it. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Deletes the key only while it still holds `expected` (compare-and-delete). */
  deleteIfEquals(key: string, expected: string): Promise<boolean>;
  /**
   * Increments a counter that expires `ttlMs` after its first increment.
   * Resolves the new count and the milliseconds left before it resets.
   */
  increment(key: string, ttlMs: number): Promise<{ count: number; resetInMs: number }>;
}

/** The subset of a pino logger the client uses. Secrets and codes are never passed to it. */
export interface WechatLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type WechatApiName =
  | "jscode2session"
  | "stable_token"
  | "token"
  | "getuserphonenumber"
  | "msg_sec_check"
  | "media_check_async";

export interface WechatClientOptions {
  appid: string;
  secret: string;
  /** Default `https://api.weixin.qq.com`. */
  baseUrl?: string;
  /** The whole budget of one call, retries included, in ms. Default 5000. */
  timeoutMs?: number;
  /** How many extra attempts a transient failure (-1, network, 5xx, garbage) gets. Default 2. */
  retries?: number;
  /** Which access-token endpoint to use. Default `stable_token`. */
  tokenEndpoint?: "stable_token" | "token";
  /** Refresh the access token this long before it expires. Default 300_000 ms. */
  tokenRefreshAheadMs?: number;
  /** How long a code-exchange result is remembered. Default 300_000 ms. */
  codeMemoTtlMs?: number;
  /** Shared state (access token, lock, code memo). Default: a new in-memory store. */
  store?: SharedStore;
  logger?: WechatLogger;
  /**
   * The undici dispatcher every call to WeChat goes through. Default: the client's own keep-alive
   * `Agent`, which `close()` destroys. Pass one to route the calls elsewhere, e.g. undici's
   * `ProxyAgent` for a fixed-IP egress proxy (WeChat only answers whitelisted IPs); the caller owns
   * it, and `close()` leaves it alone.
   */
  dispatcher?: Dispatcher;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Told how each call ends, e.g. to count them in metrics. Never given a code, token or id. */
  observer?: WechatObserver;
}

/**
 * Told once when each public call of the client ends, and once when each access-token fetch from
 * WeChat ends (as a call of `stable_token` or `token`). `outcome` is `ok`, WeChat's errcode as a
 * string (`40029`, `-1`), or the failure's kind: `timeout`, `network`, `http`, `parse`, or `error`
 * for a failure outside the exchange (the shared store).
 */
export interface WechatObserver {
  call(api: WechatApiName, outcome: string, seconds: number): void;
  /** A new access token came from WeChat (not from the cache or the shared store). */
  accessTokenFetched(): void;
}

/** What code2Session yields for a wx.login code. `sessionKey` must never leave the server. */
export interface Code2SessionResult {
  openid: string;
  unionid: string | null;
  sessionKey: string;
}

export interface WechatPhoneNumber {
  /** `+8613800138000` */
  e164: string;
  /** National number without country code, e.g. `13800138000`. */
  purePhoneNumber: string;
  /** Country calling code as digits, e.g. `86`. */
  countryCode: string;
}

/** WeChat's content-check scenes: 1 profile, 2 comment, 3 forum, 4 social log. */
export type ContentCheckScene = 1 | 2 | 3 | 4;

/** A content check's verdict: `risky` must not be shown, `review` may be shown but needs a look. */
export type ContentSuggest = "pass" | "review" | "risky";

/** One strategy's finding in a content check's `detail` (WeChat may add fields; they are kept out). */
export interface ContentCheckDetail {
  strategy: string;
  errcode: number;
  suggest: ContentSuggest | null;
  /** WeChat's label code (100 normal, 10001 ads, 20001 politics, ...); null when absent. */
  label: number | null;
  prob: number | null;
  keyword: string | null;
}

export interface ContentCheckResult {
  suggest: ContentSuggest;
  /** WeChat sends it as a number or as a string of digits; always a number here. */
  label: number;
}

export interface MsgSecCheckInput {
  /** The user's openid in this client's app; WeChat wants a user seen in the last two hours. */
  openid: string;
  /** At most 2500 characters. */
  content: string;
  scene: ContentCheckScene;
}

/** What msgSecCheck (v2) yields. */
export interface MsgSecCheckResult extends ContentCheckResult {
  traceId: string;
  detail: ContentCheckDetail[];
}

export interface MediaCheckAsyncInput {
  openid: string;
  /** A public URL WeChat can download (https); at most 10 MB. */
  mediaUrl: string;
  /** 1 audio, 2 image. */
  mediaType: 1 | 2;
  scene: ContentCheckScene;
}

/** What mediaCheckAsync (v2) yields at once; the verdict comes later as a `wxa_media_check` push. */
export interface MediaCheckAsyncResult {
  traceId: string;
}

/**
 * Why a call failed:
 * - `wechat`: WeChat answered with a non-zero errcode;
 * - `timeout`: the call's budget ran out;
 * - `network`: the connection failed;
 * - `http`: a non-2xx HTTP status;
 * - `parse`: the body was not the JSON expected (HTML page, truncated JSON, wrong watermark);
 * - `config`: the client is misconfigured (wrong appid/secret, IP not whitelisted, quota).
 */
export type WechatErrorKind = "wechat" | "timeout" | "network" | "http" | "parse" | "config";
