import type { WechatApiName, WechatErrorKind } from "./types.js";

/** Errcodes that mean this deployment is misconfigured: retrying cannot help, an operator must act. */
const CONFIG_ERRCODES: ReadonlySet<number> = new Set([
  40002, // invalid grant_type
  40013, // invalid appid
  40125, // invalid appsecret
  40164, // caller IP not in the whitelist
  41002, // appid missing
  41004, // secret missing
  45009, // daily quota of the API exhausted
]);

/** Errcodes that reject the access token a call used: invalidate it and retry once. */
const ACCESS_TOKEN_ERRCODES: ReadonlySet<number> = new Set([
  40001, // invalid credential / not the latest access token
  40014, // invalid access_token
  42001, // access_token expired
]);

/** Answers about the code itself: the same code will always get the same answer. */
const DEFINITIVE_CODE_ERRCODES: ReadonlySet<number> = new Set([
  40029, // invalid code
  40163, // code already used
  40226, // high-risk user, login blocked
]);

/** WeChat's "system busy": the documented answer is to try again. */
export const ERRCODE_SYSTEM_BUSY = -1;
/** errcode carried by failures that did not come from WeChat's errcode field. */
export const ERRCODE_NONE = -1;

const TOKEN_APIS: ReadonlySet<WechatApiName> = new Set(["stable_token", "token"]);

export function isConfigErrcode(api: WechatApiName, errcode: number): boolean {
  // The token endpoints answer 40001 when the secret is wrong: a configuration error there.
  return CONFIG_ERRCODES.has(errcode) || (errcode === 40001 && TOKEN_APIS.has(api));
}

export function isAccessTokenErrcode(errcode: number): boolean {
  return ACCESS_TOKEN_ERRCODES.has(errcode);
}

export function isDefinitiveCodeErrcode(errcode: number): boolean {
  return DEFINITIVE_CODE_ERRCODES.has(errcode);
}

/** WeChat appends a request id to errmsg ("invalid code, rid: 6123abcd-0a1b2c3d-..."). */
const RID_PATTERN = /\brid:\s*([0-9a-zA-Z-]+)/;

export function parseRid(errmsg: string): string | null {
  return RID_PATTERN.exec(errmsg)?.[1] ?? null;
}

export interface WechatApiErrorInit {
  api: WechatApiName;
  kind: WechatErrorKind;
  errcode: number;
  errmsg: string;
  retryable: boolean;
}

/**
 * Every failure of the WeChat client. `message` is built from the API name, kind, errcode and
 * errmsg only, so it never carries the secret, a code, an access token or a session_key.
 */
export class WechatApiError extends Error {
  override readonly name = "WechatApiError";
  readonly api: WechatApiName;
  readonly kind: WechatErrorKind;
  /** WeChat's errcode; -1 for timeout, network, http and parse failures. */
  readonly errcode: number;
  readonly errmsg: string;
  /** WeChat's request id, parsed from errmsg, for support tickets. */
  readonly rid: string | null;
  /** Whether the same request may succeed later. */
  readonly retryable: boolean;

  constructor(init: WechatApiErrorInit) {
    super(`WeChat ${init.api} failed (${init.kind}, errcode ${init.errcode}): ${init.errmsg}`);
    this.api = init.api;
    this.kind = init.kind;
    this.errcode = init.errcode;
    this.errmsg = init.errmsg;
    this.rid = parseRid(init.errmsg);
    this.retryable = init.retryable;
  }
}

/** The error for a non-zero errcode in a WeChat reply. */
export function errorFromErrcode(
  api: WechatApiName,
  errcode: number,
  errmsg: string,
): WechatApiError {
  if (isConfigErrcode(api, errcode)) {
    return new WechatApiError({ api, kind: "config", errcode, errmsg, retryable: false });
  }
  // -1 (busy), 45011 (rate limited) and a rejected access token can succeed on a later try;
  // anything else is an answer about the request itself.
  const retryable =
    errcode === ERRCODE_SYSTEM_BUSY || errcode === 45011 || isAccessTokenErrcode(errcode);
  return new WechatApiError({ api, kind: "wechat", errcode, errmsg, retryable });
}

export function timeoutError(api: WechatApiName, budgetMs: number): WechatApiError {
  return new WechatApiError({
    api,
    kind: "timeout",
    errcode: ERRCODE_NONE,
    errmsg: `no answer within the ${budgetMs} ms budget`,
    retryable: true,
  });
}
