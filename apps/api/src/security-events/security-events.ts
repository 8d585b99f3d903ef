import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type {
  SecurityEventDetails,
  SecurityEventsRepository,
} from "./security-events.repository.js";

/**
 * The security events, by their stable names: what an operator alerts on and what an audit reads.
 * Each is one log line and one row of the security_events table, both written by
 * logSecurityEvent; the README lists them.
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
  "phone_number_fetched",
  "account_banned",
  "account_unbanned",
  "content_review",
  "content_rejected",
  "avatar_removed",
  "wechat_authorization_revoked",
  "wechat_authorization_cancelled",
  "wechat_user_info_modified",
] as const;
export type SecurityEvent = (typeof SECURITY_EVENTS)[number];

/** Rows are kept this long (China's Cybersecurity Law asks for at least six months), then purged. */
export const SECURITY_EVENT_RETENTION_DAYS = 180;

export interface SecurityEventFields {
  /** The account it concerns; null where there is none yet (an SMS code for a registration). */
  userId: string | null;
  /** The request it happened in; null for background work (housekeeping's purge). */
  requestId: string | null;
  /** The session (one sign-in) it concerns, when it concerns one. */
  sessionId?: string;
  /** Ids and flags worth knowing; these go to the log line and the table. */
  details?: SecurityEventDetails;
  /**
   * What goes to the log line only, never to the table: a masked phone, say. The table holds ids
   * only, so a purged account leaves nothing personal in it.
   */
  logOnly?: Record<string, string>;
}

/** Where a row is written: the pool, or the caller's open transaction. */
export interface SecurityEventTarget {
  securityEvents: Pick<SecurityEventsRepository, "insert">;
}

export interface SecurityEventLogDeps {
  /** The repository on the pool, for events written after their action committed. */
  data: SecurityEventTarget;
  logger: Pick<Logger, "info" | "error">;
  clock: Clock;
  /** Counts rows that could not be written (a metric operators alert on). */
  onWriteFailure?: () => void;
}

/**
 * Writes one security event, as one structured line at info level
 * (`{"event":"session_revoked","userId":…,"requestId":…,"sessionId":…,"msg":"security event"}`)
 * and as one row of security_events. Ids go in, never a phone number, openid, token or device
 * name in clear.
 *
 * With `within` (the repositories of an open transaction) the row is part of that transaction:
 * it commits with the action or neither does (a ban and its event). Without it the action has
 * already committed, and the row follows right after. If that write fails, the user's request
 * still succeeds: failing it would make the client retry an action that is done (a sign-in
 * whose session exists). The failure is not silent: the event's log line is written first and
 * stands, an error line names the event that is missing from the table, and
 * `wxauth_security_event_write_failures_total` counts it for alerting.
 */
export type LogSecurityEvent = (
  event: SecurityEvent,
  fields: SecurityEventFields,
  within?: SecurityEventTarget,
) => Promise<void>;

export function createSecurityEventLog(deps: SecurityEventLogDeps): LogSecurityEvent {
  return async function logSecurityEvent(event, fields, within) {
    const { userId, requestId, sessionId, details = {}, logOnly } = fields;
    deps.logger.info(
      { event, userId, requestId, ...(sessionId ? { sessionId } : {}), ...details, ...logOnly },
      "security event",
    );
    const row = {
      type: event,
      userId,
      sessionId: sessionId ?? null,
      // Events that happen in one mini program name it in details; it gets a column to filter on.
      appid: typeof details.appid === "string" ? details.appid : null,
      requestId,
      details,
      at: new Date(deps.clock.now()),
    };
    if (within) {
      await within.securityEvents.insert(row);
      return;
    }
    try {
      await deps.data.securityEvents.insert(row);
    } catch (error) {
      deps.onWriteFailure?.();
      deps.logger.error(
        { err: error, event, userId, requestId, ...(sessionId ? { sessionId } : {}) },
        "security event not stored in security_events; its log line above stands",
      );
    }
  };
}
