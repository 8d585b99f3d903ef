/** The dev appid/secret the sandbox accepts by default; the API's dev defaults use the same pair. */
export {
  SANDBOX_APPID,
  SANDBOX_SECRET,
  SANDBOX_SECOND_APPID,
  SANDBOX_SECOND_SECRET,
} from "@wxauth/contracts/sandbox";
/** The Tencent Cloud SMS credentials the sandbox accepts by default, and its failing numbers. */
export { SANDBOX_SMS, SANDBOX_SMS_DAILY_LIMIT_PREFIX } from "@wxauth/contracts/sandbox";

/**
 * The one openid every never-minted login code maps to when `acceptUnknownCodes` is on.
 * Fixed rather than derived from the code, so WeChat DevTools without a real appid
 * keeps landing on the same dev user across restarts. 28 characters like a real openid.
 */
export const DEVTOOLS_OPENID = "oDevTools_sandbox_user_00001";

/** WeChat documents login codes and phone codes as valid for 5 minutes. */
export const CODE_TTL_MS = 5 * 60_000;
export const ACCESS_TOKEN_TTL_S = 7200;
/** A replaced access token keeps working this long, so callers can switch over without errors. */
export const REPLACED_TOKEN_GRACE_MS = 5 * 60_000;
/** A "timeout" fault gives up on the request after this long, whatever the client does. */
export const MAX_HOLD_MS = 120_000;
export const MAX_BODY_BYTES = 64 * 1024;
/**
 * How long after media_check_async the sandbox pushes the verdict. WeChat takes seconds; a short
 * delay still lets the caller store the trace id before its verdict arrives.
 */
export const MEDIA_CHECK_DELAY_MS = 200;
