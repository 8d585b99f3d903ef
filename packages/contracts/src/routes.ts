import type * as z from "zod/mini";
import type { ErrorCode } from "./errors.js";
import {
  AuthenticatedSchema,
  BindPhoneRequestSchema,
  DeletionScheduledSchema,
  HealthResponseSchema,
  LogoutRequestSchema,
  MeSchema,
  RefreshSessionRequestSchema,
  SendPhoneChangeSmsRequestSchema,
  SendRegistrationSmsRequestSchema,
  SmsCodeSentSchema,
  SessionListSchema,
  TokenPairSchema,
  UpdateMeRequestSchema,
  UserSchema,
  WechatLoginRequestSchema,
  WechatLoginResponseSchema,
  WechatRegisterRequestSchema,
} from "./schemas.js";

export type HttpMethod = "GET" | "POST" | "PATCH" | "DELETE";

/**
 * WeChat's `wx.request` cannot send PATCH (its methods are OPTIONS, GET, HEAD, POST, PUT, DELETE,
 * TRACE, CONNECT). The mini program sends a PATCH route as POST with this header naming PATCH, and
 * the API routes it as PATCH. No other method can be overridden: DELETE goes out as it is.
 */
export const METHOD_OVERRIDE_HEADER = "x-http-method-override";

/**
 * How long a requested account deletion waits before it is carried out, unless the API is
 * configured otherwise (ACCOUNT_DELETION_COOLING_OFF_S). The API's own figure is in GET /api/me's
 * `deletionCoolingOff`, which the mini program's confirmation names.
 */
export const DEFAULT_ACCOUNT_DELETION_COOLING_OFF_S = 7 * 24 * 60 * 60;

/** The image types an avatar may be. The API tells them by their leading bytes, never by name. */
export const AVATAR_MEDIA_TYPES = ["image/jpeg", "image/png", "image/webp"] as const;
export type AvatarMediaType = (typeof AVATAR_MEDIA_TYPES)[number];

/**
 * A body that is one file in `multipart/form-data`, which is what `wx.uploadFile` and
 * `uni.uploadFile` send (they cannot send JSON with a file in it).
 */
export interface FileUpload {
  contentType: "multipart/form-data";
  /** The form field holding the file: `name` in `uni.uploadFile`. */
  field: string;
  mediaTypes: readonly string[];
  /** Larger files are refused with 413 PAYLOAD_TOO_LARGE. */
  maxBytes: number;
}

/** A success body that is the bytes of a file, sent with its own media type, not JSON. */
export interface FileDownload {
  mediaTypes: readonly string[];
}

type SuccessStatusCode = 200 | 201 | 202 | 204;

/**
 * One route of the API as plain data. `responses` holds the success status and its JSON body
 * (`null` when there is none: an empty body, or the file of `download`); `errors` lists every error
 * code the route can answer with, each of which is sent with its catalog status and the shared
 * error body. A route takes a JSON `body` or a file `upload`, never both.
 */
export interface RouteDefinition<Code extends string = ErrorCode> {
  method: HttpMethod;
  /** Express syntax: `:name` is a path parameter. */
  path: `/api/${string}`;
  summary: string;
  /**
   * `true`: the route needs an end user's `Authorization: Bearer <accessToken>`. `"operator"`: it
   * needs an operator's session cookie instead (the console's routes, admin.ts). `false`: neither.
   */
  auth: boolean | "operator";
  /** The query string, as an object schema of its parameters (values arrive as strings). */
  query?: z.ZodMiniObject;
  body?: z.ZodMiniType;
  upload?: FileUpload;
  responses: Partial<Record<SuccessStatusCode, z.ZodMiniType | null>>;
  download?: FileDownload;
  errors: readonly Code[];
}

/** Errors any route can answer with, whatever it does (the console's routes too). */
export const COMMON_ERRORS = [
  "NOT_FOUND",
  "PAYLOAD_TOO_LARGE",
  "REQUEST_HEADER_TOO_LARGE",
  "SERVICE_UNAVAILABLE",
  "INTERNAL",
] as const;
const BODY_ERRORS = ["VALIDATION_FAILED", ...COMMON_ERRORS] as const;
const AUTH_ROUTE_ERRORS = [...BODY_ERRORS, "RATE_LIMITED"] as const;
/** A route that sends an SMS code. */
const SMS_SEND_ERRORS = ["SMS_RATE_LIMITED", "SMS_UNAVAILABLE"] as const;
/** A route that takes an SMS code (SMS_UNAVAILABLE: SMS is switched off). */
const SMS_CODE_ERRORS = ["SMS_CODE_INVALID", "SMS_UNAVAILABLE"] as const;
const WECHAT_ERRORS = [
  "WECHAT_CODE_INVALID",
  "WECHAT_CODE_USED",
  "WECHAT_USER_BLOCKED",
  "WECHAT_RATE_LIMITED",
  "WECHAT_UNAVAILABLE",
] as const;

export const contract = {
  wechatLogin: {
    method: "POST",
    path: "/api/auth/wechat/login",
    summary: "Exchange a wx.login code for a session, or for a registration ticket",
    auth: false,
    body: WechatLoginRequestSchema,
    responses: { 200: WechatLoginResponseSchema },
    errors: [...AUTH_ROUTE_ERRORS, ...WECHAT_ERRORS, "WECHAT_APP_UNKNOWN"],
  },
  wechatRegister: {
    method: "POST",
    path: "/api/auth/wechat/register",
    summary:
      "Redeem a registration ticket with a getPhoneNumber code or an SMS code; create the account",
    auth: false,
    body: WechatRegisterRequestSchema,
    responses: { 201: AuthenticatedSchema },
    errors: [
      ...AUTH_ROUTE_ERRORS,
      "REGISTRATION_TICKET_INVALID",
      "PHONE_ALREADY_BOUND",
      ...WECHAT_ERRORS,
      ...SMS_CODE_ERRORS,
    ],
  },
  sendRegistrationSms: {
    method: "POST",
    path: "/api/auth/sms/send",
    summary: "Send a 6-digit SMS code to the phone, for registering the ticket's WeChat user",
    auth: false,
    body: SendRegistrationSmsRequestSchema,
    responses: { 200: SmsCodeSentSchema },
    errors: [...AUTH_ROUTE_ERRORS, "REGISTRATION_TICKET_INVALID", ...SMS_SEND_ERRORS],
  },
  refreshSession: {
    method: "POST",
    path: "/api/auth/refresh",
    summary: "Rotate a refresh token into a new token pair",
    auth: false,
    body: RefreshSessionRequestSchema,
    responses: { 200: TokenPairSchema },
    errors: [...AUTH_ROUTE_ERRORS, "REFRESH_TOKEN_INVALID", "REFRESH_TOKEN_REUSED"],
  },
  logout: {
    method: "POST",
    path: "/api/auth/logout",
    summary: "Revoke the session (the whole refresh-token family)",
    auth: false,
    body: LogoutRequestSchema,
    responses: { 204: null },
    errors: AUTH_ROUTE_ERRORS,
  },
  getMe: {
    method: "GET",
    path: "/api/me",
    summary: "The signed-in user, and how long a deletion requested now would wait",
    auth: true,
    responses: { 200: MeSchema },
    errors: ["UNAUTHORIZED", ...COMMON_ERRORS],
  },
  updateMe: {
    method: "PATCH",
    path: "/api/me",
    summary: "Change the nickname and/or avatar of the signed-in user",
    auth: true,
    body: UpdateMeRequestSchema,
    responses: { 200: UserSchema },
    errors: ["UNAUTHORIZED", ...BODY_ERRORS, "CONTENT_REJECTED", "WECHAT_UNAVAILABLE"],
  },
  sendPhoneChangeSms: {
    method: "POST",
    path: "/api/me/phone/sms",
    summary: "Send a 6-digit SMS code to the phone the signed-in user wants to bind",
    auth: true,
    body: SendPhoneChangeSmsRequestSchema,
    responses: { 200: SmsCodeSentSchema },
    errors: ["UNAUTHORIZED", ...BODY_ERRORS, ...SMS_SEND_ERRORS],
  },
  bindPhone: {
    method: "POST",
    path: "/api/me/phone",
    summary: "Bind or change the signed-in user's phone with a getPhoneNumber code or an SMS code",
    auth: true,
    body: BindPhoneRequestSchema,
    responses: { 200: UserSchema },
    errors: [
      "UNAUTHORIZED",
      ...BODY_ERRORS,
      "PHONE_ALREADY_BOUND",
      ...WECHAT_ERRORS,
      ...SMS_CODE_ERRORS,
    ],
  },
  uploadAvatar: {
    method: "POST",
    path: "/api/me/avatar",
    summary:
      "Upload a new avatar (JPEG, PNG or WebP) for the signed-in user; avatarUrl then serves it",
    auth: true,
    upload: {
      contentType: "multipart/form-data",
      field: "file",
      mediaTypes: AVATAR_MEDIA_TYPES,
      maxBytes: 1024 * 1024,
    },
    responses: { 200: UserSchema },
    errors: ["UNAUTHORIZED", ...BODY_ERRORS],
  },
  listSessions: {
    method: "GET",
    path: "/api/me/sessions",
    summary: "The signed-in user's active sessions (sign-ins and their devices), newest first",
    auth: true,
    responses: { 200: SessionListSchema },
    errors: ["UNAUTHORIZED", ...COMMON_ERRORS],
  },
  revokeSession: {
    method: "DELETE",
    path: "/api/me/sessions/:sessionId",
    summary: "Sign one session out: its refresh token and access tokens stop working at once",
    auth: true,
    responses: { 204: null },
    errors: ["UNAUTHORIZED", ...COMMON_ERRORS],
  },
  revokeAllSessions: {
    method: "DELETE",
    path: "/api/me/sessions",
    summary: "Sign out everywhere: every session of the user, the current one included",
    auth: true,
    responses: { 204: null },
    errors: ["UNAUTHORIZED", ...COMMON_ERRORS],
  },
  requestDeletion: {
    method: "POST",
    path: "/api/me/deletion",
    summary:
      "Schedule the deletion of the account after the cooling-off period and sign out everywhere",
    auth: true,
    responses: { 202: DeletionScheduledSchema },
    errors: ["UNAUTHORIZED", ...COMMON_ERRORS],
  },
  cancelDeletion: {
    method: "DELETE",
    path: "/api/me/deletion",
    summary: "Cancel a scheduled deletion of the account during its cooling-off period",
    auth: true,
    responses: { 200: UserSchema },
    errors: ["UNAUTHORIZED", ...COMMON_ERRORS],
  },
  getAvatar: {
    method: "GET",
    path: "/api/avatars/:avatarId",
    summary: "An uploaded avatar image. Public, and cacheable forever: each upload gets a new id",
    auth: false,
    responses: { 200: null },
    download: { mediaTypes: AVATAR_MEDIA_TYPES },
    errors: COMMON_ERRORS,
  },
  health: {
    method: "GET",
    path: "/api/health",
    summary: "Liveness: the process answers, whatever its dependencies do",
    auth: false,
    responses: { 200: HealthResponseSchema },
    errors: ["INTERNAL"],
  },
  healthReady: {
    method: "GET",
    path: "/api/health/ready",
    summary:
      "Readiness: the database, and Redis when configured, answer within 1 s; otherwise 503 naming the part that failed",
    auth: false,
    responses: { 200: HealthResponseSchema },
    errors: ["SERVICE_UNAVAILABLE", "INTERNAL"],
  },
} as const satisfies Record<string, RouteDefinition>;

export type Contract = typeof contract;
export type RouteName = keyof Contract;

type SuccessStatus<R extends RouteDefinition<string>> = Extract<
  keyof R["responses"],
  SuccessStatusCode
>;

/** The body route `R` accepts, or `undefined` for routes without one. */
export type RouteRequestBody<R extends RouteDefinition<string>> = R extends {
  body: infer S extends z.ZodMiniType;
}
  ? z.input<S>
  : undefined;

type PathParameterNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | PathParameterNames<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

/** The path parameters of route `R` (`{ sessionId: string }`), or `undefined` for routes without. */
export type RoutePathParameters<R extends RouteDefinition<string>> = [
  PathParameterNames<R["path"]>,
] extends [never]
  ? undefined
  : Record<PathParameterNames<R["path"]>, string>;

/** The body route `R` answers with on success (`undefined` for 204). */
export type RouteSuccessBody<R extends RouteDefinition<string>> = R["responses"][SuccessStatus<R> &
  keyof R["responses"]] extends infer S
  ? S extends z.ZodMiniType
    ? z.output<S>
    : undefined
  : never;

/** The body a route accepts, or `undefined` for routes without one. */
export type RequestBody<K extends RouteName> = RouteRequestBody<Contract[K]>;

/** The path parameters of a route (`{ sessionId: string }`), or `undefined` for routes without. */
export type PathParameters<K extends RouteName> = RoutePathParameters<Contract[K]>;

/** The body a route answers with on success (`undefined` for 204). */
export type SuccessBody<K extends RouteName> = RouteSuccessBody<Contract[K]>;

/** The success status and schema of a route. */
export function successOf(route: RouteDefinition<string>): {
  status: SuccessStatusCode;
  schema: z.ZodMiniType | null;
} {
  for (const status of [200, 201, 202, 204] as const) {
    const schema = route.responses[status];
    if (schema !== undefined) return { status, schema };
  }
  throw new Error(`route ${route.method} ${route.path} declares no success response`);
}
