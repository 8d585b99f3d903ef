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
 * The second app the sandbox knows by default, bound to the same Open Platform account as the
 * first: the same person has another openid in it and the same unionid. Production refuses it too.
 */
export const SANDBOX_SECOND_APPID = "wxsandbox0000000002";
export const SANDBOX_SECOND_SECRET = "sandbox-secret-0000000000000002";

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
  /** POST: the verdict of the next media_check_async (of one app, or of any). */
  mediaVerdict: "/__dev/media-verdict",
  /** POST: pushes any message to an app's push address, signed (and encrypted) as WeChat does. */
  pushEvent: "/__dev/push-event",
  /** POST: sets an app's push address, Token and EncodingAESKey at run time. */
  pushConfig: "/__dev/push-config",
  /** GET: the pushes the sandbox made, newest first. */
  pushes: "/__dev/pushes",
} as const;

const AppidSchema = z.string().check(z.minLength(1), z.maxLength(64));
/** WeChat's EncodingAESKey: 43 letters and digits. */
const EncodingAesKeySchema = z
  .string()
  .check(z.regex(/^[A-Za-z0-9]{43}$/, "43 letters and digits"));

/** Where and how the sandbox pushes an app's messages, as WeChat's message push configuration. */
export const SandboxPushSettingsSchema = z.object({
  pushUrl: z.optional(z.url({ protocol: /^https?$/ })),
  pushToken: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  /** When set, pushes are in safe mode (encrypted); otherwise in plaintext mode. */
  pushAesKey: z.optional(EncodingAesKeySchema),
});

/** One mini program the sandbox stands in for (`SANDBOX_APPS` is a JSON array of these). */
export const SandboxAppSchema = z.extend(SandboxPushSettingsSchema, {
  appid: AppidSchema,
  secret: z.string().check(z.minLength(1), z.maxLength(128)),
  /** Bound to the sandbox's one Open Platform account: jscode2session returns the unionid. */
  unionBound: z._default(z.boolean(), true),
});
export type SandboxApp = z.output<typeof SandboxAppSchema>;
export type SandboxAppInput = z.input<typeof SandboxAppSchema>;

export const SandboxAppsSchema = z.array(SandboxAppSchema).check(
  z.minLength(1),
  z.refine((apps) => new Set(apps.map((app) => app.appid)).size === apps.length, "duplicate appid"),
);

export const SandboxLoginCodeRequestSchema = z.object({
  /** The app the code is for; the first configured app when absent. */
  appid: z.optional(AppidSchema),
  /**
   * A stable key for the person behind the code (e.g. "alice"): the same person gets one openid per
   * app, and one unionid across the bound apps. Not with `openid`/`unionid`.
   */
  person: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  openid: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  unionid: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
});
export type SandboxLoginCodeRequest = z.infer<typeof SandboxLoginCodeRequestSchema>;

export const SandboxLoginCodeResponseSchema = z.object({
  code: z.string(),
  openid: z.string(),
  appid: z.string(),
  /** What jscode2session will return: absent for an unbound app or a code minted without one. */
  unionid: z.optional(z.string()),
});
export type SandboxLoginCodeResponse = z.infer<typeof SandboxLoginCodeResponseSchema>;

export const SandboxPhoneCodeRequestSchema = z.object({
  phoneNumber: z.string().check(z.regex(/^\d{5,15}$/, "digits of the national number")),
  countryCode: z.optional(
    z.union([z.string().check(z.regex(/^\d{1,4}$/)), z.int().check(z.positive())]),
  ),
  openid: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  /** The app the code is for: the openid's app, else the first configured app, when absent. */
  appid: z.optional(AppidSchema),
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
  "msg_sec_check",
  "media_check_async",
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
    msg_sec_check: z.int(),
    media_check_async: z.int(),
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

export const SandboxContentSuggestSchema = z.enum(["pass", "review", "risky"]);
export type SandboxContentSuggest = z.infer<typeof SandboxContentSuggestSchema>;

/** The verdict the next media_check_async pushes; `pass` when none is set. */
export const SandboxMediaVerdictRequestSchema = z.object({
  suggest: SandboxContentSuggestSchema,
  /** WeChat's label code; 100 for pass, 20002 (porn) for risky, 21000 (other) for review by default. */
  label: z.optional(z.int().check(z.positive())),
  /** Only that app's next check; any app's when absent. */
  appid: z.optional(AppidSchema),
});
export type SandboxMediaVerdictRequest = z.infer<typeof SandboxMediaVerdictRequestSchema>;

/**
 * Pushes `message` (any JSON fields) to an app's push address, signed and, with an AES key,
 * encrypted. `ToUserName`, `CreateTime` and `MsgType: "event"` are filled in when absent. `times`
 * sends the very same request again, as WeChat's retries do.
 */
export const SandboxPushEventRequestSchema = z.object({
  appid: z.optional(AppidSchema),
  message: z.record(z.string(), z.unknown()),
  times: z._default(z.int().check(z.positive(), z.lte(5)), 1),
});
export type SandboxPushEventRequest = z.input<typeof SandboxPushEventRequestSchema>;

/** One delivery: the receiver's HTTP status (null when it could not be reached) and answer. */
export const SandboxPushDeliverySchema = z.object({
  status: z.nullable(z.int()),
  answer: z.string(),
  /** WeChat counts a push as received when the answer is `success` or empty. */
  ok: z.boolean(),
});

export const SandboxPushEventResponseSchema = z.object({
  deliveries: z.array(SandboxPushDeliverySchema),
});
export type SandboxPushEventResponse = z.infer<typeof SandboxPushEventResponseSchema>;

export const SandboxPushConfigRequestSchema = z.extend(SandboxPushSettingsSchema, {
  appid: AppidSchema,
});
export type SandboxPushConfigRequest = z.infer<typeof SandboxPushConfigRequestSchema>;

export const SandboxPushRecordSchema = z.extend(SandboxPushDeliverySchema, {
  appid: z.string(),
  event: z.nullable(z.string()),
  /** The media check's trace id, for wxa_media_check. */
  traceId: z.optional(z.string()),
  encrypted: z.boolean(),
  /** ISO 8601. */
  sentAt: z.string(),
});
export type SandboxPushRecord = z.infer<typeof SandboxPushRecordSchema>;

export const SandboxPushesSchema = z.object({ pushes: z.array(SandboxPushRecordSchema) });
export type SandboxPushes = z.infer<typeof SandboxPushesSchema>;
