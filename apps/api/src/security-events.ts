import type { Logger } from "pino";

/**
 * The security events, by their stable names: what an operator alerts on and what an audit reads.
 * Each is one log line written by logSecurityEvent; the README lists them.
 */
export const SECURITY_EVENTS = [
  "login",
  "register",
  "identity_linked",
  "refresh_reuse_detected",
  "logout",
  "session_revoked",
  "sessions_revoked_all",
  "deletion_requested",
  "deletion_cancelled",
  "account_deleted",
  "sms_sent",
  "sms_limited",
  "content_review",
  "content_rejected",
  "avatar_removed",
  "wechat_authorization_revoked",
  "wechat_authorization_cancelled",
  "wechat_user_info_modified",
  "wechat_push_refused",
] as const;
export type SecurityEvent = (typeof SECURITY_EVENTS)[number];

export interface SecurityEventFields {
  /** The account it concerns; null where there is none yet (an SMS code for a registration). */
  userId: string | null;
  /** The request it happened in; null for background work (housekeeping's purge). */
  requestId: string | null;
  /** The session (one sign-in) it concerns, when it concerns one. */
  sessionId?: string;
  /** Anything else worth knowing, never personal data in clear (mask a phone: maskPhone). */
  details?: Record<string, string | number | boolean>;
}

/**
 * Writes one security event as one structured line at info level:
 * `{"event":"session_revoked","userId":…,"requestId":…,"sessionId":…,"msg":"security event"}`.
 * Ids go in, never a phone number, openid, token or device name in clear.
 */
export function logSecurityEvent(
  logger: Pick<Logger, "info">,
  event: SecurityEvent,
  { userId, requestId, sessionId, details }: SecurityEventFields,
): void {
  logger.info(
    { event, userId, requestId, ...(sessionId ? { sessionId } : {}), ...details },
    "security event",
  );
}
