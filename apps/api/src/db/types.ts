import type { ColumnType } from "kysely";
export type Generated<T> =
  T extends ColumnType<infer S, infer I, infer U>
    ? ColumnType<S, I | undefined, U>
    : ColumnType<T, T | undefined, T>;
export type Timestamp = ColumnType<Date, Date | string, Date | string>;

export type AuditEntry = {
  id: string;
  /**
   * The operator's name, kept as it was when they acted.
   */
  operator: string;
  action: string;
  /**
   * `user:<id>` or `session:<id>`; null for the operator's own (signing in, a password change).
   */
  target: string | null;
  address: string;
  /**
   * The ban's reason and until, for example; never a phone.
   */
  details: Generated<unknown>;
  created_at: Generated<Timestamp>;
  updated_at: Timestamp;
};
export type Avatar = {
  id: string;
  user_id: string;
  /**
   * Told from the leading bytes at upload: image/jpeg, image/png or image/webp.
   */
  content_type: string;
  bytes: Buffer;
  byte_length: number;
  /**
   * WeChat's trace_id of the image's content check (mediaCheckAsync), whose verdict arrives as a
   * wxa_media_check push; null when no check was started (CONTENT_CHECKS=off, or the call failed).
   */
  check_trace_id: string | null;
  created_at: Generated<Timestamp>;
  updated_at: Timestamp;
};
export type Operator = {
  id: string;
  name: string;
  /**
   * "viewer" reads with phones masked; "admin" also acts and can reveal a phone.
   */
  role: string;
  /**
   * `scrypt$N$r$p$salt$hash` (base64url), so a change of cost still verifies older hashes.
   */
  password_hash: string;
  /**
   * True for the one-time password operator:create prints, until the operator replaces it.
   */
  password_change_required: boolean;
  created_at: Generated<Timestamp>;
  updated_at: Timestamp;
};
export type OperatorSession = {
  id: string;
  operator_id: string;
  token_hash: string;
  last_seen_at: Timestamp;
  created_at: Generated<Timestamp>;
  updated_at: Timestamp;
};
export type RefreshToken = {
  id: string;
  session_id: string;
  token_hash: string;
  expires_at: Timestamp;
  rotated_at: Timestamp | null;
  /**
   * The successor's plaintext, AES-256-GCM encrypted, kept only for the reuse grace window so
   * a concurrent refresh of the same token gets the same answer.
   */
  successor_ciphertext: string | null;
  created_at: Generated<Timestamp>;
  updated_at: Timestamp;
};
export type RegistrationTicket = {
  id: string;
  token_hash: string;
  /**
   * The app whose login issued the ticket: registration binds its identity and asks its WeChat.
   */
  appid: string;
  openid: string;
  unionid: string | null;
  wechat_session_key_id: string;
  expires_at: Timestamp;
  /**
   * A redemption in progress holds the ticket until this time; a concurrent one is refused.
   */
  claimed_until: Timestamp | null;
  used_at: Timestamp | null;
  created_at: Generated<Timestamp>;
  updated_at: Timestamp;
};
export type SecurityEvent = {
  id: string;
  type: string;
  user_id: string | null;
  session_id: string | null;
  /**
   * The mini program it happened in, when it happened in one (details.appid of the event).
   */
  appid: string | null;
  request_id: string | null;
  details: Generated<unknown>;
  created_at: Generated<Timestamp>;
  updated_at: Timestamp;
};
export type Session = {
  id: string;
  user_id: string;
  /**
   * The mini program (appid) the user signed in through; access tokens carry it as `azp`.
   */
  appid: string;
  /**
   * The device as the client reported it at sign-in (each at most 64 characters).
   */
  device_platform: string | null;
  device_model: string | null;
  device_system: string | null;
  /**
   * The sign-in, or the latest refresh.
   */
  last_used_at: Generated<Timestamp>;
  revoked_at: Timestamp | null;
  /**
   * "logout", "reuse", "revoke" (from the session list) or "deletion" (of the account).
   */
  revoked_reason: string | null;
  created_at: Generated<Timestamp>;
  updated_at: Timestamp;
};
export type User = {
  id: string;
  /**
   * E.164, e.g. +8613800138000.
   */
  phone: string | null;
  /**
   * The person's id across the apps bound to one WeChat Open Platform account (at most one).
   */
  unionid: string | null;
  nickname: string | null;
  avatar_url: string | null;
  created_at: Generated<Timestamp>;
  updated_at: Timestamp;
  /**
   * Set while a deletion the user asked for waits out its cooling-off period; housekeeping
   * deletes the account once it has passed.
   */
  deletion_scheduled_at: Timestamp | null;
  /**
   * Set while an operator's ban stands: every request of the user answers ACCOUNT_DISABLED.
   */
  banned_at: Timestamp | null;
  /**
   * When the ban lifts itself (checked at read time); null for a ban until an operator lifts it.
   */
  banned_until: Timestamp | null;
  /**
   * Shown to operators only; the user sees ACCOUNT_DISABLED.
   */
  ban_reason: string | null;
  /**
   * The name of the operator who banned.
   */
  banned_by: string | null;
  /**
   * When WeChat's content check found the avatar (uploaded, or set as a URL) risky and it was
   * removed; cleared when the user sets another avatar. GET /api/me shows it, so the mini program
   * can say why.
   */
  avatar_removed_at: Timestamp | null;
  /**
   * The trace_id of WeChat's content check of an avatarUrl set as a URL (not uploaded), by which
   * its verdict push finds it; cleared whenever avatarUrl changes.
   */
  avatar_check_trace_id: string | null;
};
export type WechatIdentity = {
  id: string;
  user_id: string;
  appid: string;
  openid: string;
  created_at: Generated<Timestamp>;
  updated_at: Timestamp;
};
export type WechatSessionKey = {
  id: string;
  appid: string;
  openid: string;
  unionid: string | null;
  session_key_ciphertext: string;
  obtained_at: Timestamp;
  created_at: Generated<Timestamp>;
  updated_at: Timestamp;
};
export type DB = {
  audit_entries: AuditEntry;
  avatars: Avatar;
  operator_sessions: OperatorSession;
  operators: Operator;
  refresh_tokens: RefreshToken;
  registration_tickets: RegistrationTicket;
  security_events: SecurityEvent;
  sessions: Session;
  users: User;
  wechat_identities: WechatIdentity;
  wechat_session_keys: WechatSessionKey;
};
