import * as z from "zod/mini";

/**
 * The closed set of error codes the API can answer with. Each entry carries its HTTP status,
 * whether retrying the same request can help, and a message in Chinese (shown to end users)
 * and English (for developers and logs). WeChat errcodes that map onto a code are listed so
 * the mapping is written down once.
 */
export const errorCatalog = {
  VALIDATION_FAILED: {
    status: 400,
    retryable: false,
    message: { zh: "请求参数有误", en: "The request is invalid." },
  },
  UNAUTHORIZED: {
    status: 401,
    retryable: false,
    message: { zh: "登录已失效，请重新登录", en: "Authentication is required." },
  },
  WECHAT_APP_UNKNOWN: {
    status: 400,
    retryable: false,
    message: { zh: "该小程序未接入登录服务", en: "The appid is not configured." },
  },
  WECHAT_CODE_INVALID: {
    status: 401,
    retryable: false,
    wechatErrcodes: [40029],
    message: { zh: "微信登录凭证无效，请重试", en: "The WeChat login code is invalid." },
  },
  WECHAT_CODE_USED: {
    status: 401,
    retryable: false,
    wechatErrcodes: [40163],
    message: { zh: "微信登录凭证已被使用，请重试", en: "The WeChat login code was already used." },
  },
  WECHAT_USER_BLOCKED: {
    status: 403,
    retryable: false,
    wechatErrcodes: [40226],
    message: { zh: "该微信账号已被限制登录", en: "WeChat blocked this user (high risk)." },
  },
  WECHAT_RATE_LIMITED: {
    status: 429,
    retryable: true,
    wechatErrcodes: [45011],
    message: { zh: "操作太频繁，请稍后再试", en: "WeChat rate-limited this request." },
  },
  WECHAT_UNAVAILABLE: {
    status: 503,
    retryable: true,
    wechatErrcodes: [-1, 40013, 40125, 40164, 45009],
    message: { zh: "微信服务暂时不可用，请稍后再试", en: "WeChat is unavailable right now." },
  },
  REGISTRATION_TICKET_INVALID: {
    status: 401,
    retryable: false,
    message: {
      zh: "注册已过期，请重新登录",
      en: "The registration ticket is invalid, used or expired.",
    },
  },
  PHONE_ALREADY_BOUND: {
    status: 409,
    retryable: false,
    message: {
      zh: "该手机号已绑定其他微信账号",
      en: "This phone number is bound to another WeChat account.",
    },
  },
  REFRESH_TOKEN_INVALID: {
    status: 401,
    retryable: false,
    message: { zh: "登录已失效，请重新登录", en: "The refresh token is invalid or expired." },
  },
  REFRESH_TOKEN_REUSED: {
    status: 401,
    retryable: false,
    message: {
      zh: "登录状态异常，请重新登录",
      en: "The refresh token was already used; the session was revoked.",
    },
  },
  SMS_CODE_INVALID: {
    status: 401,
    retryable: false,
    message: {
      zh: "验证码错误或已失效，请重新获取",
      en: "The SMS code is wrong, expired, already used or out of tries.",
    },
  },
  SMS_RATE_LIMITED: {
    status: 429,
    retryable: true,
    message: {
      zh: "验证码发送太频繁，请稍后再试",
      en: "Too many SMS codes were requested; wait before asking again.",
    },
  },
  SMS_UNAVAILABLE: {
    status: 503,
    retryable: true,
    message: {
      zh: "短信服务暂时不可用，请稍后再试或使用其他方式",
      en: "SMS is unavailable: the provider failed or SMS is not configured.",
    },
  },
  RATE_LIMITED: {
    status: 429,
    retryable: true,
    message: { zh: "请求太频繁，请稍后再试", en: "Too many requests." },
  },
  CONTENT_REJECTED: {
    status: 422,
    retryable: false,
    // msg_sec_check v1's answer for risky content; v2 answers errcode 0 with suggest "risky".
    wechatErrcodes: [87014],
    message: {
      zh: "内容含有不当信息，请修改后重试",
      en: "WeChat's content check found the content risky; it was not saved.",
    },
  },
  NOT_FOUND: {
    status: 404,
    retryable: false,
    message: { zh: "请求的资源不存在", en: "Not found." },
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    retryable: false,
    message: { zh: "请求内容过大", en: "The request body is too large." },
  },
  REQUEST_HEADER_TOO_LARGE: {
    status: 431,
    retryable: false,
    message: { zh: "请求头过大", en: "The request headers are too large." },
  },
  SERVICE_UNAVAILABLE: {
    status: 503,
    retryable: true,
    message: {
      zh: "服务暂时不可用，请稍后再试",
      en: "A dependency of the service is unavailable.",
    },
  },
  INTERNAL: {
    status: 500,
    retryable: false,
    message: { zh: "服务器开小差了，请稍后再试", en: "Internal error." },
  },
  ACCOUNT_DISABLED: {
    status: 403,
    retryable: false,
    message: {
      zh: "该账号已被停用，如有疑问请联系客服",
      en: "This account is banned; its sessions were revoked.",
    },
  },
} as const satisfies Record<string, ErrorCatalogEntry>;

export interface ErrorCatalogEntry {
  status: number;
  retryable: boolean;
  wechatErrcodes?: readonly number[];
  message: { zh: string; en: string };
}

export type ErrorCode = keyof typeof errorCatalog;

export const ERROR_CODES = Object.keys(errorCatalog) as [ErrorCode, ...ErrorCode[]];

export const ErrorCodeSchema = z.enum(ERROR_CODES);

/**
 * The codes only the operators' console's routes (`/api/admin/*`) answer with. They are kept out
 * of errorCatalog because the mini program bundles that one whole (its messages, ERROR_CODES) and
 * never meets these: the mp-weixin package has a 150 KB budget. The API and the console use
 * both catalogues (`adminErrorCatalog` in `@wxauth/contracts/admin`).
 */
export const operatorErrorCatalog = {
  OPERATOR_UNAUTHENTICATED: {
    status: 401,
    retryable: false,
    message: {
      zh: "请先登录管理后台",
      en: "An operator session is required; it is missing or expired.",
    },
  },
  OPERATOR_SIGNIN_FAILED: {
    status: 401,
    retryable: false,
    message: { zh: "用户名或密码错误", en: "The name or the password is wrong." },
  },
  OPERATOR_PASSWORD_INCORRECT: {
    status: 403,
    retryable: false,
    message: { zh: "当前密码错误", en: "The current password is wrong." },
  },
  PASSWORD_CHANGE_REQUIRED: {
    status: 403,
    retryable: false,
    message: {
      zh: "请先修改初始密码",
      en: "The one-time password must be changed before anything else.",
    },
  },
  OPERATOR_FORBIDDEN: {
    status: 403,
    retryable: false,
    message: { zh: "当前角色无权执行此操作", en: "The operator's role does not allow this." },
  },
  CSRF_TOKEN_INVALID: {
    status: 403,
    retryable: false,
    message: {
      zh: "请求校验失败，请刷新页面后重试",
      en: "The X-CSRF-Token header is missing or does not match the operator session.",
    },
  },
} as const satisfies Record<string, ErrorCatalogEntry>;

export type OperatorErrorCode = keyof typeof operatorErrorCatalog;

export const ErrorBodySchema = z.object({
  error: z.object({
    code: ErrorCodeSchema,
    message: z.string(),
    retryable: z.boolean(),
    requestId: z.string(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** The HTTP status an error code is answered with. */
export function statusOf(code: ErrorCode): number {
  return errorCatalog[code].status;
}

/** The error code a WeChat errcode maps to, or undefined when the API must decide itself. */
export function errorCodeForWechatErrcode(errcode: number): ErrorCode | undefined {
  for (const code of ERROR_CODES) {
    const entry: ErrorCatalogEntry = errorCatalog[code];
    if (entry.wechatErrcodes?.includes(errcode)) return code;
  }
  return undefined;
}
