/*
 * Written with zod/mini (`z.string().check(z.minLength(1))`, `z.optional(x)`, `z.extend(a, {...})`):
 * the mini program bundles these schemas, and zod/mini's functions tree-shake where zod classic's
 * methods cannot. They are zod 4 schemas all the same: the API parses with them and openapi.ts
 * turns them into JSON Schema.
 */
import * as z from "zod/mini";
import { PhoneInputSchema } from "./phone.js";

/** A phone number in E.164 form: `+8613800138000`, `+85251234567`. */
export const PhoneE164Schema = z
  .string()
  .check(z.regex(/^\+[1-9]\d{6,14}$/, "expected an E.164 phone number such as +8613800138000"));
export type PhoneE164 = z.infer<typeof PhoneE164Schema>;

/** A WeChat one-time code (login code from `wx.login`, or phone code from getPhoneNumber). */
const WechatCodeSchema = z.string().check(z.trim(), z.minLength(1), z.maxLength(256));

/** An opaque credential the API issued (refresh token, registration ticket). */
const OpaqueTokenSchema = z.string().check(z.minLength(16), z.maxLength(512));

export const UserSchema = z.object({
  id: z.string().check(z.minLength(1)),
  phone: z.nullable(PhoneE164Schema),
  nickname: z.nullable(z.string()),
  avatarUrl: z.nullable(z.string()),
  createdAt: z.iso.datetime({ offset: true }),
  /** When the account will be deleted, if its owner asked for that; signing in does not cancel. */
  deletionScheduledAt: z.nullable(z.iso.datetime({ offset: true })),
});
export type User = z.infer<typeof UserSchema>;

/** A WeChat appid: the mini program a sign-in goes through. */
export const AppidSchema = z.string().check(z.trim(), z.minLength(1), z.maxLength(64));

/** A mini program the API serves: its appid, and its configured name (null once unconfigured). */
export const WechatAppSchema = z.object({
  appid: z.string(),
  name: z.nullable(z.string()),
});
export type WechatApp = z.infer<typeof WechatAppSchema>;

/**
 * One of the user's WeChat identities: a mini program they signed in through, from when. Never
 * the openid or unionid.
 */
export const WechatIdentitySchema = z.extend(WechatAppSchema, {
  createdAt: z.iso.datetime({ offset: true }),
});
export type WechatIdentity = z.infer<typeof WechatIdentitySchema>;

/**
 * GET /api/me: the signed-in user, what a deletion they ask for now would do, and the mini programs
 * their account is linked to, oldest first.
 */
export const MeSchema = z.extend(UserSchema, {
  /** Seconds a deletion requested now waits before it is carried out; 0: at once. */
  deletionCoolingOff: z.int().check(z.nonnegative()),
  identities: z.array(WechatIdentitySchema),
  /**
   * When WeChat's content check found the uploaded avatar risky and the API removed it; null
   * otherwise, and again once the user sets a new avatar. The profile tells the user from it.
   */
  avatarRemovedAt: z.nullable(z.iso.datetime({ offset: true })),
});
export type Me = z.infer<typeof MeSchema>;

const DeviceFieldSchema = z.string().check(z.maxLength(64));

/**
 * The device a sign-in came from, as the mini program's uni.getDeviceInfo reports it, shown in
 * the user's list of sessions. Every field is optional: a client may know none of them.
 */
export const DeviceSchema = z.object({
  platform: z.optional(DeviceFieldSchema),
  model: z.optional(DeviceFieldSchema),
  system: z.optional(DeviceFieldSchema),
});
export type Device = z.infer<typeof DeviceSchema>;

export const WechatLoginRequestSchema = z.object({
  code: WechatCodeSchema,
  /**
   * The mini program the code comes from (`uni.getAccountInfoSync().miniProgram.appId`). It may
   * be left out only when the API serves exactly one app.
   */
  appid: z.optional(AppidSchema),
  device: z.optional(DeviceSchema),
});
export type WechatLoginRequest = z.infer<typeof WechatLoginRequestSchema>;

export const TokenPairSchema = z.object({
  accessToken: z.string().check(z.minLength(1)),
  refreshToken: z.string().check(z.minLength(1)),
  /** Seconds until the access token expires. */
  expiresIn: z.int().check(z.positive()),
});
export type TokenPair = z.infer<typeof TokenPairSchema>;

/** A sign-in's answer: the tokens of the session it started, and the user. */
export const AuthenticatedSchema = z.extend(TokenPairSchema, {
  status: z.literal("authenticated"),
  user: UserSchema,
});
export type Authenticated = z.infer<typeof AuthenticatedSchema>;

export const RegistrationRequiredSchema = z.object({
  status: z.literal("registration_required"),
  registrationTicket: z.string().check(z.minLength(1)),
  /** Seconds until the registration ticket expires. */
  expiresIn: z.int().check(z.positive()),
});
export type RegistrationRequired = z.infer<typeof RegistrationRequiredSchema>;

export const WechatLoginResponseSchema = z.discriminatedUnion("status", [
  AuthenticatedSchema,
  RegistrationRequiredSchema,
]);
export type WechatLoginResponse = z.infer<typeof WechatLoginResponseSchema>;

/** The 6-digit code of an SMS the API sent. */
const SmsCodeSchema = z
  .string()
  .check(z.regex(/^\d{6}$/, "expected the 6-digit code from the SMS"));

/**
 * Registration proves the phone one of two ways: a getPhoneNumber code, or the phone and the code
 * of an SMS sent for this ticket. Strict objects, so a body mixing the two is refused rather than
 * read as one of them.
 */
export const WechatRegisterRequestSchema = z.union([
  z.strictObject({
    registrationTicket: OpaqueTokenSchema,
    phoneCode: WechatCodeSchema,
    device: z.optional(DeviceSchema),
  }),
  z.strictObject({
    registrationTicket: OpaqueTokenSchema,
    phone: PhoneInputSchema,
    smsCode: SmsCodeSchema,
    device: z.optional(DeviceSchema),
  }),
]);
export type WechatRegisterRequest = z.infer<typeof WechatRegisterRequestSchema>;

export const SendRegistrationSmsRequestSchema = z.object({
  registrationTicket: OpaqueTokenSchema,
  phone: PhoneInputSchema,
});
export type SendRegistrationSmsRequest = z.infer<typeof SendRegistrationSmsRequestSchema>;

export const SendPhoneChangeSmsRequestSchema = z.object({
  phone: PhoneInputSchema,
});
export type SendPhoneChangeSmsRequest = z.infer<typeof SendPhoneChangeSmsRequestSchema>;

export const SmsCodeSentSchema = z.object({
  /** Seconds the code stays valid. */
  expiresIn: z.int().check(z.positive()),
  /** Seconds before another code can be sent to this phone. */
  retryAfter: z.int().check(z.positive()),
});
export type SmsCodeSent = z.infer<typeof SmsCodeSentSchema>;

export const RefreshSessionRequestSchema = z.object({
  refreshToken: OpaqueTokenSchema,
});
export type RefreshSessionRequest = z.infer<typeof RefreshSessionRequestSchema>;

export const LogoutRequestSchema = z.object({
  refreshToken: OpaqueTokenSchema,
});
export type LogoutRequest = z.infer<typeof LogoutRequestSchema>;

/** Nicknames as WeChat's `<input type="nickname">` delivers them, without control characters. */
export const NicknameSchema = z.string().check(
  z.trim(),
  z.minLength(1),
  z.maxLength(32),
  // eslint-disable-next-line no-control-regex
  z.refine((value) => !/[\u0000-\u001f\u007f]/.test(value), "must not contain control characters"),
);

export const AvatarUrlSchema = z
  .string()
  .check(z.maxLength(2048), z.regex(/^https?:\/\/[^\s]+$/, "expected an http(s) URL"));

export const UpdateMeRequestSchema = z
  .strictObject({
    nickname: z.optional(NicknameSchema),
    avatarUrl: z.optional(AvatarUrlSchema),
  })
  .check(
    z.refine((body) => body.nickname !== undefined || body.avatarUrl !== undefined, {
      message: "give nickname, avatarUrl or both",
    }),
  );
export type UpdateMeRequest = z.infer<typeof UpdateMeRequestSchema>;

/** The same two ways as registration: a getPhoneNumber code, or the phone and its SMS code. */
export const BindPhoneRequestSchema = z.union([
  z.strictObject({ phoneCode: WechatCodeSchema }),
  z.strictObject({ phone: PhoneInputSchema, smsCode: SmsCodeSchema }),
]);
export type BindPhoneRequest = z.infer<typeof BindPhoneRequestSchema>;

/** One sign-in of the user: one refresh-token family, and the access tokens issued from it. */
export const SessionSchema = z.object({
  id: z.string().check(z.minLength(1)),
  createdAt: z.iso.datetime({ offset: true }),
  /** The sign-in, or the last refresh of its tokens. */
  lastUsedAt: z.iso.datetime({ offset: true }),
  device: DeviceSchema,
  /** The mini program the session signed in through. */
  app: WechatAppSchema,
  /** Whether this is the session of the access token the list was asked for with. */
  current: z.boolean(),
});
export type Session = z.infer<typeof SessionSchema>;

export const SessionListSchema = z.object({
  /** Active sessions only, newest first. */
  sessions: z.array(SessionSchema),
});
export type SessionList = z.infer<typeof SessionListSchema>;

export const DeletionScheduledSchema = z.object({
  deletionScheduledAt: z.iso.datetime({ offset: true }),
});
export type DeletionScheduled = z.infer<typeof DeletionScheduledSchema>;

export const HealthResponseSchema = z.object({
  status: z.literal("ok"),
});
export type HealthResponse = z.infer<typeof HealthResponseSchema>;
