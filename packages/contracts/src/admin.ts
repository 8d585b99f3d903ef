/*
 * The operators' console wire: every `/api/admin/*` route, its schemas and how each is guarded.
 * A separate entry point (`@wxauth/contracts/admin`) so the mini program's bundle never contains
 * these paths or schemas; the OpenAPI document includes them (openapi.ts).
 *
 * Operators are not end users. They sign in with a name and password and hold a cookie session
 * (OPERATOR_SESSION_COOKIE: HttpOnly, SameSite=Strict, Secure in production, 30-minute idle
 * timeout, 12 hours at most); a Bearer access token never opens these routes and the cookie never opens an end-user
 * route. Every route that changes something also needs the session's CSRF token in the
 * `X-CSRF-Token` header.
 */
import * as z from "zod/mini";
import { ErrorBodySchema, errorCatalog, operatorErrorCatalog } from "./errors.js";
import { DeviceSchema, PhoneE164Schema } from "./schemas.js";
import {
  COMMON_ERRORS,
  type RouteDefinition,
  type RoutePathParameters,
  type RouteRequestBody,
  type RouteSuccessBody,
} from "./routes.js";

/** The cookie that carries an operator's session. The console never reads it (HttpOnly). */
export const OPERATOR_SESSION_COOKIE = "wxauth_operator";

/** The header a changing admin request carries the sign-in answer's `csrfToken` in. */
export const CSRF_TOKEN_HEADER = "X-CSRF-Token";

/** An operator session ends after this long without a request. */
export const OPERATOR_SESSION_IDLE_TIMEOUT_S = 30 * 60;
/** An operator session ends this long after its sign-in, however busy: a stolen cookie expires. */
export const OPERATOR_SESSION_MAX_AGE_S = 12 * 60 * 60;

/** How many users one page of the user search holds. */
export const ADMIN_USERS_PAGE_SIZE = 20;

/**
 * `viewer` reads, with phones masked; `admin` also acts (sign out, ban, unban) and can reveal a
 * phone, which is audited.
 */
export const OPERATOR_ROLES = ["viewer", "admin"] as const;
export const OperatorRoleSchema = z.enum(OPERATOR_ROLES);
export type OperatorRole = z.infer<typeof OperatorRoleSchema>;

const EVERY_ROLE = OPERATOR_ROLES;

/** Every code an admin route can answer with: the shared catalogue and the operators' own. */
export const adminErrorCatalog = { ...errorCatalog, ...operatorErrorCatalog };
export type AdminErrorCode = keyof typeof adminErrorCatalog;
export const ADMIN_ERROR_CODES = Object.keys(adminErrorCatalog) as [
  AdminErrorCode,
  ...AdminErrorCode[],
];

/** The error body of an admin route: ErrorBodySchema with the operators' codes too. */
export const AdminErrorBodySchema = z.object({
  error: z.extend(ErrorBodySchema.shape.error, { code: z.enum(ADMIN_ERROR_CODES) }),
});
export type AdminErrorBody = z.infer<typeof AdminErrorBodySchema>;
const ADMIN_ONLY = ["admin"] as const;

const DateTimeSchema = z.iso.datetime({ offset: true });
const IdSchema = z.string().check(z.minLength(1));

/**
 * How an admin route is guarded, on top of what every route declares.
 * - `auth: "operator"`: the operator session cookie (401 OPERATOR_UNAUTHENTICATED without a live
 *   one); `auth: false` only for signing in.
 * - `roles`: the roles that may call it (403 OPERATOR_FORBIDDEN for the others).
 * - `csrf`: it changes something, so `X-CSRF-Token` must match the session's token (403
 *   CSRF_TOKEN_INVALID otherwise).
 * - `beforePasswordChange`: it answers while the operator still has to replace a one-time
 *   password; every other route then answers 403 PASSWORD_CHANGE_REQUIRED.
 * The checks run in that order, before the body is validated.
 */
export interface AdminRouteDefinition extends RouteDefinition<AdminErrorCode> {
  auth: false | "operator";
  roles: readonly OperatorRole[];
  csrf: boolean;
  beforePasswordChange: boolean;
}

// --- Operators and their sessions -------------------------------------------------------------

/** As typed at sign-in; nothing about it is checked beyond its length, to tell nothing. */
const OperatorNameSchema = z.string().check(z.minLength(1), z.maxLength(64));

/**
 * A password chosen by an operator: at least 15 characters, as NIST SP 800-63B-4 asks of a
 * password that is the only factor; at most 256, so hashing stays cheap.
 */
export const OPERATOR_PASSWORD_MIN_LENGTH = 15;
export const NewOperatorPasswordSchema = z
  .string()
  .check(z.minLength(OPERATOR_PASSWORD_MIN_LENGTH), z.maxLength(256));

const PasswordAttemptSchema = z.string().check(z.minLength(1), z.maxLength(256));

export const OperatorSignInRequestSchema = z.strictObject({
  name: OperatorNameSchema,
  password: PasswordAttemptSchema,
});
export type OperatorSignInRequest = z.infer<typeof OperatorSignInRequestSchema>;

export const OperatorSchema = z.object({
  name: z.string().check(z.minLength(1)),
  role: OperatorRoleSchema,
});
export type Operator = z.infer<typeof OperatorSchema>;

/**
 * The signed-in operator, the session's CSRF token (sent back as `X-CSRF-Token` on every changing
 * request) and whether the one-time password must be changed before anything else.
 */
export const OperatorSessionSchema = z.object({
  operator: OperatorSchema,
  csrfToken: z.string().check(z.minLength(16)),
  passwordChangeRequired: z.boolean(),
});
export type OperatorSession = z.infer<typeof OperatorSessionSchema>;

export const ChangeOperatorPasswordRequestSchema = z
  .strictObject({
    currentPassword: PasswordAttemptSchema,
    newPassword: NewOperatorPasswordSchema,
  })
  .check(
    z.refine((body) => body.newPassword !== body.currentPassword, {
      message: "the new password must differ from the current one",
      path: ["newPassword"],
    }),
  );
export type ChangeOperatorPasswordRequest = z.infer<typeof ChangeOperatorPasswordRequestSchema>;

// --- Users ------------------------------------------------------------------------------------

/** A configured mini program: its appid and its short name (`WECHAT_APPS`). */
export const AdminAppSchema = z.object({
  appid: z.string().check(z.minLength(1)),
  name: z.string().check(z.minLength(1)),
});
export type AdminApp = z.infer<typeof AdminAppSchema>;

/**
 * A phone as the console shows it before it is revealed: `maskPhone`'s `138****8000`. The full
 * number comes only from revealUserPhone, which is audited.
 */
export const MaskedPhoneSchema = z
  .string()
  .check(z.regex(/^\d*\*{4}\d*$/, "expected a masked phone such as 138****8000"));

export const USER_STATUSES = ["active", "banned", "deletion_scheduled"] as const;
/** `banned` wins over `deletion_scheduled` when both hold. */
export const UserStatusSchema = z.enum(USER_STATUSES);
export type UserStatus = z.infer<typeof UserStatusSchema>;

export const AdminUserSummarySchema = z.object({
  id: IdSchema,
  phone: z.nullable(MaskedPhoneSchema),
  nickname: z.nullable(z.string()),
  /** The apps the user has an identity in. */
  apps: z.array(AdminAppSchema),
  createdAt: DateTimeSchema,
  /** The last login or refresh in any session; null if the user never signed in since. */
  lastSignInAt: z.nullable(DateTimeSchema),
  status: UserStatusSchema,
});
export type AdminUserSummary = z.infer<typeof AdminUserSummarySchema>;

export const AdminUserSearchQuerySchema = z.object({
  /**
   * A user id, a full phone (`13800138000` or `+8613800138000`), a phone's last 4 digits, a
   * unionid or an openid. Empty or absent lists every user, newest first.
   */
  query: z.optional(z.string().check(z.trim(), z.maxLength(128))),
  /** `nextCursor` of the previous page. */
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
});
export type AdminUserSearchQuery = z.infer<typeof AdminUserSearchQuerySchema>;

export const AdminUserPageSchema = z.object({
  /** At most ADMIN_USERS_PAGE_SIZE, newest first. */
  users: z.array(AdminUserSummarySchema),
  /** Where the next page starts; null on the last page. */
  nextCursor: z.nullable(z.string()),
});
export type AdminUserPage = z.infer<typeof AdminUserPageSchema>;

/** The user as operators see it: the unionid is there, the phone masked. */
export const AdminUserSchema = z.object({
  id: IdSchema,
  phone: z.nullable(MaskedPhoneSchema),
  nickname: z.nullable(z.string()),
  avatarUrl: z.nullable(z.string()),
  unionid: z.nullable(z.string()),
  createdAt: DateTimeSchema,
  lastSignInAt: z.nullable(DateTimeSchema),
  status: UserStatusSchema,
});
export type AdminUser = z.infer<typeof AdminUserSchema>;

/** One WeChat identity of the user: its openid in one app. Operators may see the openid. */
export const AdminIdentitySchema = z.object({
  appid: z.string().check(z.minLength(1)),
  name: z.string().check(z.minLength(1)),
  openid: z.string().check(z.minLength(1)),
  createdAt: DateTimeSchema,
});
export type AdminIdentity = z.infer<typeof AdminIdentitySchema>;

/** One active session of the user (one refresh-token family) and the app it was signed in from. */
export const AdminSessionSchema = z.object({
  id: IdSchema,
  app: AdminAppSchema,
  device: DeviceSchema,
  createdAt: DateTimeSchema,
  lastUsedAt: DateTimeSchema,
});
export type AdminSession = z.infer<typeof AdminSessionSchema>;

/**
 * One row of the `security_events` table. `type` is the API's event name (`login`,
 * `session_revoked`, `account_banned`, …); details hold ids and flags, never a phone, code or
 * token.
 */
export const SecurityEventEntrySchema = z.object({
  id: IdSchema,
  type: z.string().check(z.minLength(1)),
  at: DateTimeSchema,
  /** The app the event happened in, when it happened in one. */
  appid: z.nullable(z.string()),
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
});
export type SecurityEventEntry = z.infer<typeof SecurityEventEntrySchema>;

export const BAN_REASON_MAX_LENGTH = 500;

/** A ban in force. */
export const BanSchema = z.object({
  reason: z.string(),
  /** When the ban lifts itself; null for a ban until an operator lifts it. */
  until: z.nullable(DateTimeSchema),
  bannedAt: DateTimeSchema,
  /** The name of the operator who banned. */
  by: z.string(),
});
export type Ban = z.infer<typeof BanSchema>;

export const BanUserRequestSchema = z.strictObject({
  /** Shown to operators and kept in the audit log; the user only sees ACCOUNT_DISABLED. */
  reason: z.string().check(z.trim(), z.minLength(1), z.maxLength(BAN_REASON_MAX_LENGTH)),
  /** When the ban lifts itself (in the future); absent for a ban until an operator lifts it. */
  until: z.optional(DateTimeSchema),
});
export type BanUserRequest = z.infer<typeof BanUserRequestSchema>;

export const AdminUserDetailSchema = z.object({
  user: AdminUserSchema,
  identities: z.array(AdminIdentitySchema),
  /** Active sessions, newest first. */
  sessions: z.array(AdminSessionSchema),
  /** The user's security events, newest first, the newest 100. */
  events: z.array(SecurityEventEntrySchema),
  /** The scheduled deletion, or null. */
  deletion: z.nullable(z.object({ scheduledAt: DateTimeSchema })),
  ban: z.nullable(BanSchema),
});
export type AdminUserDetail = z.infer<typeof AdminUserDetailSchema>;

export const RevealedPhoneSchema = z.object({
  phone: z.nullable(PhoneE164Schema),
});
export type RevealedPhone = z.infer<typeof RevealedPhoneSchema>;

export const ScheduledDeletionSchema = z.object({
  userId: IdSchema,
  phone: z.nullable(MaskedPhoneSchema),
  nickname: z.nullable(z.string()),
  /** When the deletion is carried out, unless the user cancels it first. */
  scheduledAt: DateTimeSchema,
});
export type ScheduledDeletion = z.infer<typeof ScheduledDeletionSchema>;

export const ScheduledDeletionListSchema = z.object({
  /** Every scheduled deletion, soonest first. */
  deletions: z.array(ScheduledDeletionSchema),
});
export type ScheduledDeletionList = z.infer<typeof ScheduledDeletionListSchema>;

// --- Spend and audit --------------------------------------------------------------------------

export const SPEND_MAX_DAYS = 90;

export const SpendQuerySchema = z.object({
  /** How many days back, today included (Asia/Shanghai). */
  days: z._default(
    z.coerce.number<number | string>().check(z.int(), z.gte(1), z.lte(SPEND_MAX_DAYS)),
    30,
  ),
});
export type SpendQuery = z.infer<typeof SpendQuerySchema>;

export const SpendSchema = z.object({
  /** One entry per day, oldest first, days without any included with zeros. */
  days: z.array(
    z.object({
      /** The day in Asia/Shanghai, `2026-12-07`. */
      date: z.iso.date(),
      /** Successful `getuserphonenumber` calls. */
      phoneLookups: z.int().check(z.nonnegative()),
      /** SMS the provider accepted. */
      smsSent: z.int().check(z.nonnegative()),
    }),
  ),
  /** What one of each costs: PHONE_LOOKUP_PRICE_CNY (0.03) and SMS_PRICE_CNY (0.045). */
  prices: z.object({
    phoneLookupCny: z.number().check(z.nonnegative()),
    smsCny: z.number().check(z.nonnegative()),
  }),
});
export type Spend = z.infer<typeof SpendSchema>;

/** What an operator can do, as the audit log names it. */
export const AUDIT_ACTIONS = [
  "operator_signed_in",
  "operator_signed_out",
  "operator_password_changed",
  "user_phone_revealed",
  "user_banned",
  "user_unbanned",
  "user_session_revoked",
  "user_sessions_revoked_all",
] as const;
export const AuditActionSchema = z.enum(AUDIT_ACTIONS);
export type AuditAction = z.infer<typeof AuditActionSchema>;

export const AuditEntrySchema = z.object({
  id: IdSchema,
  /** The operator's name. */
  operator: z.string(),
  action: AuditActionSchema,
  /** The user acted on, `user:<id>`, or the session, `session:<id>`; null for the operator's own. */
  target: z.nullable(z.string()),
  at: DateTimeSchema,
  /** The address the request came from, as `trust proxy` resolves it. */
  address: z.string(),
  /** The ban's reason and until, for example; never a phone. */
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

export const AuditQuerySchema = z.object({
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
});
export type AuditQuery = z.infer<typeof AuditQuerySchema>;

export const AuditPageSchema = z.object({
  /** Newest first, 50 to a page. */
  entries: z.array(AuditEntrySchema),
  nextCursor: z.nullable(z.string()),
});
export type AuditPage = z.infer<typeof AuditPageSchema>;

// --- The routes -------------------------------------------------------------------------------

/** What a guarded route can answer before its handler runs. */
const READ_ERRORS = [
  "OPERATOR_UNAUTHENTICATED",
  "OPERATOR_FORBIDDEN",
  "PASSWORD_CHANGE_REQUIRED",
  "VALIDATION_FAILED",
  ...COMMON_ERRORS,
] as const satisfies readonly AdminErrorCode[];
const CHANGE_ERRORS = [...READ_ERRORS, "CSRF_TOKEN_INVALID"] as const;

export const adminContract = {
  signInOperator: {
    method: "POST",
    path: "/api/admin/session",
    summary:
      "Sign an operator in; sets the session cookie. Rate-limited per name and per address; a wrong name and a wrong password answer alike",
    auth: false,
    roles: EVERY_ROLE,
    csrf: false,
    beforePasswordChange: true,
    body: OperatorSignInRequestSchema,
    responses: { 200: OperatorSessionSchema },
    errors: ["OPERATOR_SIGNIN_FAILED", "RATE_LIMITED", "VALIDATION_FAILED", ...COMMON_ERRORS],
  },
  getOperatorSession: {
    method: "GET",
    path: "/api/admin/session",
    summary: "The signed-in operator and the session's CSRF token, for a console that reloads",
    auth: "operator",
    roles: EVERY_ROLE,
    csrf: false,
    beforePasswordChange: true,
    responses: { 200: OperatorSessionSchema },
    errors: ["OPERATOR_UNAUTHENTICATED", ...COMMON_ERRORS],
  },
  signOutOperator: {
    method: "DELETE",
    path: "/api/admin/session",
    summary: "Sign the operator out: the session ends and its cookie is cleared",
    auth: "operator",
    roles: EVERY_ROLE,
    csrf: true,
    beforePasswordChange: true,
    responses: { 204: null },
    errors: ["OPERATOR_UNAUTHENTICATED", "CSRF_TOKEN_INVALID", ...COMMON_ERRORS],
  },
  changeOperatorPassword: {
    method: "POST",
    path: "/api/admin/password",
    summary:
      "Change the operator's password (the one-time one first of all); the other sessions of the operator end",
    auth: "operator",
    roles: EVERY_ROLE,
    csrf: true,
    beforePasswordChange: true,
    body: ChangeOperatorPasswordRequestSchema,
    responses: { 200: OperatorSessionSchema },
    errors: [
      "OPERATOR_UNAUTHENTICATED",
      "CSRF_TOKEN_INVALID",
      "OPERATOR_PASSWORD_INCORRECT",
      "RATE_LIMITED",
      "VALIDATION_FAILED",
      ...COMMON_ERRORS,
    ],
  },
  searchUsers: {
    method: "GET",
    path: "/api/admin/users",
    summary:
      "Search users by id, full phone, the phone's last 4 digits, unionid or openid; 20 to a page",
    auth: "operator",
    roles: EVERY_ROLE,
    csrf: false,
    beforePasswordChange: false,
    query: AdminUserSearchQuerySchema,
    responses: { 200: AdminUserPageSchema },
    errors: READ_ERRORS,
  },
  getUser: {
    method: "GET",
    path: "/api/admin/users/:userId",
    summary:
      "A user with their identities, sessions, security events, deletion and ban; phone masked",
    auth: "operator",
    roles: EVERY_ROLE,
    csrf: false,
    beforePasswordChange: false,
    responses: { 200: AdminUserDetailSchema },
    errors: READ_ERRORS,
  },
  revealUserPhone: {
    method: "POST",
    path: "/api/admin/users/:userId/phone/reveal",
    summary: "The user's full phone number; audited",
    auth: "operator",
    roles: ADMIN_ONLY,
    csrf: true,
    beforePasswordChange: false,
    responses: { 200: RevealedPhoneSchema },
    errors: CHANGE_ERRORS,
  },
  banUser: {
    method: "POST",
    path: "/api/admin/users/:userId/ban",
    summary:
      "Ban the user at once: every session is revoked and their requests answer 403 ACCOUNT_DISABLED; a ban with until lifts itself then",
    auth: "operator",
    roles: ADMIN_ONLY,
    csrf: true,
    beforePasswordChange: false,
    body: BanUserRequestSchema,
    responses: { 200: BanSchema },
    errors: CHANGE_ERRORS,
  },
  unbanUser: {
    method: "DELETE",
    path: "/api/admin/users/:userId/ban",
    summary: "Lift the user's ban (nothing happens if there is none)",
    auth: "operator",
    roles: ADMIN_ONLY,
    csrf: true,
    beforePasswordChange: false,
    responses: { 204: null },
    errors: CHANGE_ERRORS,
  },
  revokeUserSession: {
    method: "DELETE",
    path: "/api/admin/users/:userId/sessions/:sessionId",
    summary: "Sign one of the user's sessions out; its tokens stop working at once",
    auth: "operator",
    roles: ADMIN_ONLY,
    csrf: true,
    beforePasswordChange: false,
    responses: { 204: null },
    errors: CHANGE_ERRORS,
  },
  revokeAllUserSessions: {
    method: "DELETE",
    path: "/api/admin/users/:userId/sessions",
    summary: "Sign the user out everywhere",
    auth: "operator",
    roles: ADMIN_ONLY,
    csrf: true,
    beforePasswordChange: false,
    responses: { 204: null },
    errors: CHANGE_ERRORS,
  },
  listScheduledDeletions: {
    method: "GET",
    path: "/api/admin/deletions",
    summary: "Every scheduled account deletion, soonest first",
    auth: "operator",
    roles: EVERY_ROLE,
    csrf: false,
    beforePasswordChange: false,
    responses: { 200: ScheduledDeletionListSchema },
    errors: READ_ERRORS,
  },
  getSpend: {
    method: "GET",
    path: "/api/admin/spend",
    summary:
      "Successful phone lookups and SMS the provider accepted, per day in Asia/Shanghai, and their prices",
    auth: "operator",
    roles: EVERY_ROLE,
    csrf: false,
    beforePasswordChange: false,
    query: SpendQuerySchema,
    responses: { 200: SpendSchema },
    errors: READ_ERRORS,
  },
  listAuditEntries: {
    method: "GET",
    path: "/api/admin/audit",
    summary: "Every operator action: who, what, the target, when and from which address",
    auth: "operator",
    roles: ADMIN_ONLY,
    csrf: false,
    beforePasswordChange: false,
    query: AuditQuerySchema,
    responses: { 200: AuditPageSchema },
    errors: READ_ERRORS,
  },
} as const satisfies Record<string, AdminRouteDefinition>;

export type AdminContract = typeof adminContract;
export type AdminRouteName = keyof AdminContract;

/** The body an admin route accepts, or `undefined`. */
export type AdminRequestBody<K extends AdminRouteName> = RouteRequestBody<AdminContract[K]>;
/** The path parameters of an admin route, or `undefined`. */
export type AdminPathParameters<K extends AdminRouteName> = RoutePathParameters<AdminContract[K]>;
/** The body an admin route answers with on success (`undefined` for 204). */
export type AdminSuccessBody<K extends AdminRouteName> = RouteSuccessBody<AdminContract[K]>;
/** The query an admin route takes, as sent (strings and numbers), or `undefined`. */
export type AdminQuery<K extends AdminRouteName> = AdminContract[K] extends {
  query: infer S extends z.ZodMiniType;
}
  ? z.input<S>
  : undefined;
