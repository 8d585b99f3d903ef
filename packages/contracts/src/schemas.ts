import { z } from "zod";

/** A phone number in E.164 form: `+8613800138000`, `+85251234567`. */
export const PhoneE164Schema = z
  .string()
  .regex(/^\+[1-9]\d{6,14}$/, "expected an E.164 phone number such as +8613800138000");
export type PhoneE164 = z.infer<typeof PhoneE164Schema>;

/** A WeChat one-time code (login code from `wx.login`, or phone code from getPhoneNumber). */
const WechatCodeSchema = z.string().trim().min(1).max(256);

/** An opaque credential the API issued (refresh token, registration ticket). */
const OpaqueTokenSchema = z.string().min(16).max(512);

export const UserSchema = z.object({
  id: z.string().min(1),
  phone: PhoneE164Schema.nullable(),
  nickname: z.string().nullable(),
  avatarUrl: z.string().nullable(),
  createdAt: z.iso.datetime({ offset: true }),
});
export type User = z.infer<typeof UserSchema>;

export const WechatLoginRequestSchema = z.object({
  code: WechatCodeSchema,
});
export type WechatLoginRequest = z.infer<typeof WechatLoginRequestSchema>;

export const TokenPairSchema = z.object({
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1),
  /** Seconds until the access token expires. */
  expiresIn: z.number().int().positive(),
});
export type TokenPair = z.infer<typeof TokenPairSchema>;

export const AuthenticatedSessionSchema = TokenPairSchema.extend({
  status: z.literal("authenticated"),
  user: UserSchema,
});
export type AuthenticatedSession = z.infer<typeof AuthenticatedSessionSchema>;

export const RegistrationRequiredSchema = z.object({
  status: z.literal("registration_required"),
  registrationTicket: z.string().min(1),
  /** Seconds until the registration ticket expires. */
  expiresIn: z.number().int().positive(),
});
export type RegistrationRequired = z.infer<typeof RegistrationRequiredSchema>;

export const WechatLoginResponseSchema = z.discriminatedUnion("status", [
  AuthenticatedSessionSchema,
  RegistrationRequiredSchema,
]);
export type WechatLoginResponse = z.infer<typeof WechatLoginResponseSchema>;

export const WechatRegisterRequestSchema = z.object({
  registrationTicket: OpaqueTokenSchema,
  phoneCode: WechatCodeSchema,
});
export type WechatRegisterRequest = z.infer<typeof WechatRegisterRequestSchema>;

export const RefreshSessionRequestSchema = z.object({
  refreshToken: OpaqueTokenSchema,
});
export type RefreshSessionRequest = z.infer<typeof RefreshSessionRequestSchema>;

export const LogoutRequestSchema = z.object({
  refreshToken: OpaqueTokenSchema,
});
export type LogoutRequest = z.infer<typeof LogoutRequestSchema>;

/** Nicknames as WeChat's `<input type="nickname">` delivers them, without control characters. */
export const NicknameSchema = z
  .string()
  .trim()
  .min(1)
  .max(32)
  // eslint-disable-next-line no-control-regex
  .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), "must not contain control characters");

export const AvatarUrlSchema = z
  .string()
  .max(2048)
  .regex(/^https?:\/\/[^\s]+$/, "expected an http(s) URL");

export const UpdateMeRequestSchema = z
  .object({
    nickname: NicknameSchema.optional(),
    avatarUrl: AvatarUrlSchema.optional(),
  })
  .strict()
  .refine((body) => body.nickname !== undefined || body.avatarUrl !== undefined, {
    message: "give nickname, avatarUrl or both",
  });
export type UpdateMeRequest = z.infer<typeof UpdateMeRequestSchema>;

export const BindPhoneRequestSchema = z.object({
  phoneCode: WechatCodeSchema,
});
export type BindPhoneRequest = z.infer<typeof BindPhoneRequestSchema>;

export const HealthResponseSchema = z.object({
  status: z.literal("ok"),
});
export type HealthResponse = z.infer<typeof HealthResponseSchema>;
