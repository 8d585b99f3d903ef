import {
  errorCatalog,
  errorCodeForWechatErrcode,
  operatorErrorCatalog,
  type ErrorCode,
  type OperatorErrorCode,
} from "@wxauth/contracts";
import type { WechatApiError } from "@wxauth/wechat";

/**
 * The one typed error of the API. Services throw it; the error handler answers it with the
 * catalog status and `{ error: { code, message, retryable, requestId } }`.
 */
/** Both catalogues: the operators' codes are answered by the /api/admin routes only. */
const catalog = { ...errorCatalog, ...operatorErrorCatalog };

export class AppError extends Error {
  override readonly name = "AppError";
  readonly code: ErrorCode | OperatorErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  /** A client-safe explanation added to the catalog message (which field failed, and why). */
  readonly detail: string | undefined;
  /** Seconds until a retry can succeed; answered as the `Retry-After` header. */
  readonly retryAfterS: number | undefined;

  constructor(
    code: ErrorCode | OperatorErrorCode,
    detail?: string,
    options: { retryable?: boolean; cause?: unknown; retryAfterS?: number } = {},
  ) {
    const entry = catalog[code];
    super(detail ? `${entry.message.en} ${detail}` : entry.message.en, { cause: options.cause });
    this.code = code;
    this.status = entry.status;
    this.retryable = options.retryable ?? entry.retryable;
    this.detail = detail;
    this.retryAfterS = options.retryAfterS;
  }
}

/** What a WeChat failure means for the client. */
export function appErrorFromWechat(error: WechatApiError): AppError {
  if (error.kind === "wechat") {
    const code = errorCodeForWechatErrcode(error.errcode) ?? "WECHAT_UNAVAILABLE";
    return new AppError(code, undefined, { retryable: error.retryable, cause: error });
  }
  // A timeout, or a network, HTTP or parse failure, may pass. A `config` failure (wrong
  // appid/secret, IP whitelist, quota) cannot, until someone acts.
  const retryable = error.kind !== "config";
  return new AppError("WECHAT_UNAVAILABLE", undefined, { retryable, cause: error });
}
