import * as z from "zod/mini";

/**
 * The dev-control wire of the WeChat sandbox (apps/wechat-mock). It is a separate entry point
 * (`@wxauth/contracts/sandbox`) so that production bundles never contain these paths.
 */
/**
 * The dev appid and secret the sandbox accepts by default, and the API's development defaults.
 * Production refuses both (apps/api/src/config.ts).
 */
export const SANDBOX_APPID = "wxsandbox0000000001";
export const SANDBOX_SECRET = "sandbox-secret-0000000000000000";

/**
 * The Tencent Cloud SMS credentials and ids the sandbox accepts by default, and what `pnpm dev`
 * gives the API. Production refuses the secret key (apps/api/src/config.ts).
 */
export const SANDBOX_SMS = {
  secretId: "AKIDsandbox0000000000000000000000000",
  secretKey: "sandbox-sms-secret-key-000000000000",
  sdkAppId: "1400000000",
  signName: "wxauth沙箱",
  templateId: "100000",
} as const;

/** Phone numbers starting with this fail with LimitExceeded.PhoneNumberDailyLimit, for tests. */
export const SANDBOX_SMS_DAILY_LIMIT_PREFIX = "+861990000";

export const sandboxRoutes = {
  loginCode: "/__dev/login-code",
  phoneCode: "/__dev/phone-code",
  fail: "/__dev/fail",
  stats: "/__dev/stats",
  reset: "/__dev/reset",
  /** GET, optionally `?phone=+86…`: the SMS the sandbox has accepted, newest first. */
  sms: "/__dev/sms",
} as const;

export const SandboxLoginCodeRequestSchema = z.object({
  openid: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  unionid: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
});
export type SandboxLoginCodeRequest = z.infer<typeof SandboxLoginCodeRequestSchema>;

export const SandboxLoginCodeResponseSchema = z.object({
  code: z.string(),
  openid: z.string(),
});
export type SandboxLoginCodeResponse = z.infer<typeof SandboxLoginCodeResponseSchema>;

export const SandboxPhoneCodeRequestSchema = z.object({
  phoneNumber: z.string().check(z.regex(/^\d{5,15}$/, "digits of the national number")),
  countryCode: z.optional(
    z.union([z.string().check(z.regex(/^\d{1,4}$/)), z.int().check(z.positive())]),
  ),
  openid: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
});
export type SandboxPhoneCodeRequest = z.infer<typeof SandboxPhoneCodeRequestSchema>;

export const SandboxPhoneCodeResponseSchema = z.object({
  code: z.string(),
});
export type SandboxPhoneCodeResponse = z.infer<typeof SandboxPhoneCodeResponseSchema>;

export const SandboxApiSchema = z.enum([
  "jscode2session",
  "stable_token",
  "token",
  "getuserphonenumber",
]);
export type SandboxApi = z.infer<typeof SandboxApiSchema>;

/**
 * Makes the next `times` calls of `api` fail. `errcode` is a WeChat errcode answered as HTTP 200
 * JSON; the special faults are answered differently: `"timeout"` never answers within the caller's
 * budget, `"http500"` is an HTTP 5xx, `"html"` an HTML error page, `"truncated"` cut-off JSON.
 * `delayMs` alone slows the calls down without failing them.
 */
export const SandboxFailRequestSchema = z.object({
  api: SandboxApiSchema,
  errcode: z.optional(z.union([z.int(), z.enum(["timeout", "http500", "html", "truncated"])])),
  times: z._default(z.int().check(z.positive(), z.lte(10_000)), 1),
  delayMs: z.optional(z.int().check(z.nonnegative(), z.lte(120_000))),
});
export type SandboxFailRequest = z.input<typeof SandboxFailRequestSchema>;

export const SandboxStatsSchema = z.object({
  calls: z.object({
    jscode2session: z.int(),
    stable_token: z.int(),
    token: z.int(),
    getuserphonenumber: z.int(),
  }),
});
export type SandboxStats = z.infer<typeof SandboxStatsSchema>;

export const SandboxSmsMessageSchema = z.object({
  /** E.164, as sent in PhoneNumberSet. */
  phone: z.string(),
  templateId: z.string(),
  params: z.array(z.string()),
  /** ISO 8601. */
  sentAt: z.string(),
});
export type SandboxSmsMessage = z.infer<typeof SandboxSmsMessageSchema>;

export const SandboxSmsMessagesSchema = z.object({
  messages: z.array(SandboxSmsMessageSchema),
});
export type SandboxSmsMessages = z.infer<typeof SandboxSmsMessagesSchema>;
