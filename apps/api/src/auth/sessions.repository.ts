import type { Device } from "@wxauth/contracts";
import type { Database } from "../db/client.js";
import { timeOrderedId } from "../db/time-ordered-id.js";
import {
  USER_COLUMNS,
  accountOf,
  linkedApps,
  type AccountRecord,
} from "../users/users.repository.js";
import { UNADOPTED_APPID } from "../users/wechat-identities.repository.js";

export interface RefreshTokenRecord {
  id: string;
  sessionId: string;
  expiresAt: Date;
  rotatedAt: Date | null;
  successorCiphertext: string | null;
  session: { userId: string; appid: string; revokedAt: Date | null };
  /** The user's ban columns (see banInForce). */
  user: { bannedAt: Date | null; bannedUntil: Date | null };
}

/** What a Bearer request needs to know of its session, read in one statement. */
export interface SessionStanding {
  revoked: boolean;
  /** The session's own app. */
  appid: string;
  /** The signed-in user, with their ban (see banInForce) and the apps they are linked to. */
  account: AccountRecord;
}

export interface NewRefreshToken {
  tokenHash: string;
  expiresAt: Date;
}

/** A session as its user's list shows it. */
export interface SessionRecord {
  id: string;
  /** The app the user signed in through. */
  appid: string;
  createdAt: Date;
  lastUsedAt: Date;
  device: Device;
}

/**
 * Why a session stopped: its device logged out, a rotated token came back (reuse), its user
 * revoked it from the list of sessions (one or all), the user asked for the account's deletion,
 * an operator signed it out (one or all), an operator banned the user, or the user cancelled their
 * authorization of the app in WeChat (user_authorization_cancellation).
 */
export type SessionRevocationReason =
  "logout" | "reuse" | "revoke" | "deletion" | "operator" | "ban" | "wechat_cancellation";

/**
 * Sessions (one sign-in each) and the refresh tokens each rotated through. The methods that write
 * two rows (create, rotate) run in a transaction: pass them the transaction.
 */
export function createSessionsRepository(db: Database) {
  const insertToken = (sessionId: string, token: NewRefreshToken, now: Date) =>
    db
      .insertInto("refresh_tokens")
      .values({
        id: timeOrderedId(),
        session_id: sessionId,
        token_hash: token.tokenHash,
        expires_at: token.expiresAt,
        created_at: now,
        updated_at: now,
      })
      .execute();

  return {
    /** Starts a session (one sign-in through `appid`) with its first token; resolves its id. */
    async create(
      userId: string,
      appid: string,
      device: Device,
      first: NewRefreshToken,
    ): Promise<string> {
      const sessionId = timeOrderedId();
      const now = new Date();
      await db
        .insertInto("sessions")
        .values({
          id: sessionId,
          user_id: userId,
          appid,
          device_platform: device.platform ?? null,
          device_model: device.model ?? null,
          device_system: device.system ?? null,
          last_used_at: now,
          created_at: now,
          updated_at: now,
        })
        .execute();
      await insertToken(sessionId, first, now);
      return sessionId;
    },

    async findTokenByHash(tokenHash: string): Promise<RefreshTokenRecord | null> {
      const row = await db
        .selectFrom("refresh_tokens as t")
        .innerJoin("sessions as s", "s.id", "t.session_id")
        .innerJoin("users as u", "u.id", "s.user_id")
        .select([
          "t.id",
          "t.session_id as sessionId",
          "t.expires_at as expiresAt",
          "t.rotated_at as rotatedAt",
          "t.successor_ciphertext as successorCiphertext",
          "s.user_id as userId",
          "s.appid",
          "s.revoked_at as revokedAt",
          "u.banned_at as bannedAt",
          "u.banned_until as bannedUntil",
        ])
        .where("t.token_hash", "=", tokenHash)
        .executeTakeFirst();
      if (!row) return null;
      const { userId, appid, revokedAt, bannedAt, bannedUntil, ...token } = row;
      return { ...token, session: { userId, appid, revokedAt }, user: { bannedAt, bannedUntil } };
    },

    /**
     * Replaces `current` by `next` in its session. The conditional update lets exactly one of
     * several concurrent rotations win; the losers resolve false and answer from the grace data
     * the winner left (`successorCiphertext`).
     */
    async rotate(
      current: { id: string; sessionId: string },
      next: NewRefreshToken,
      rotatedAt: Date,
      successorCiphertext: string,
    ): Promise<boolean> {
      const now = new Date();
      const { numUpdatedRows } = await db
        .updateTable("refresh_tokens")
        .set({ rotated_at: rotatedAt, successor_ciphertext: successorCiphertext, updated_at: now })
        .where("id", "=", current.id)
        .where("rotated_at", "is", null)
        .executeTakeFirst();
      if (numUpdatedRows !== 1n) return false;
      await insertToken(current.sessionId, next, now);
      await db
        .updateTable("sessions")
        .set({ last_used_at: rotatedAt, updated_at: now })
        .where("id", "=", current.sessionId)
        .execute();
      return true;
    },

    async revoke(sessionId: string, reason: SessionRevocationReason, now: Date): Promise<void> {
      await db
        .updateTable("sessions")
        .set({ revoked_at: now, revoked_reason: reason, updated_at: now })
        .where("id", "=", sessionId)
        .where("revoked_at", "is", null)
        .execute();
    },

    /**
     * The user's session and the user's account (their ban and their apps included), in one
     * primary-key read joined to the user's row; null when the session is gone (deleted with its
     * account).
     */
    async standing(sessionId: string, userId: string): Promise<SessionStanding | null> {
      const row = await db
        .selectFrom("sessions")
        .innerJoin("users", "users.id", "sessions.user_id")
        .select(["sessions.revoked_at as revokedAt", "sessions.appid as sessionAppid"])
        .select(USER_COLUMNS.map((column) => `users.${column}` as const))
        .select(linkedApps)
        .where("sessions.id", "=", sessionId)
        .where("sessions.user_id", "=", userId)
        .executeTakeFirst();
      if (!row) return null;
      const { revokedAt, sessionAppid, ...account } = row;
      return { revoked: revokedAt !== null, appid: sessionAppid, account: accountOf(account) };
    },

    /** The user's live sessions (not revoked, their current token unexpired), newest first. */
    async listActive(userId: string, now: Date): Promise<SessionRecord[]> {
      const rows = await db
        .selectFrom("sessions as s")
        .select([
          "s.id",
          "s.appid",
          "s.created_at as createdAt",
          "s.last_used_at as lastUsedAt",
          "s.device_platform as platform",
          "s.device_model as model",
          "s.device_system as system",
        ])
        .where("s.user_id", "=", userId)
        .where("s.revoked_at", "is", null)
        .where(({ exists, selectFrom }) =>
          exists(
            selectFrom("refresh_tokens as t")
              .select("t.id")
              .whereRef("t.session_id", "=", "s.id")
              .where("t.rotated_at", "is", null)
              .where("t.expires_at", ">", now),
          ),
        )
        .orderBy("s.created_at", "desc")
        .orderBy("s.id", "desc")
        .execute();
      return rows.map(({ id, appid, createdAt, lastUsedAt, ...device }) => ({
        id,
        appid,
        createdAt,
        lastUsedAt,
        device: reportedDevice(device),
      }));
    },

    /**
     * Revokes one session of the user. Resolves false when the user has no session of that id,
     * and true when it is revoked now or was already.
     */
    async revokeForUser(
      sessionId: string,
      userId: string,
      reason: SessionRevocationReason,
      now: Date,
    ): Promise<boolean> {
      const { numUpdatedRows } = await db
        .updateTable("sessions")
        .set({ revoked_at: now, revoked_reason: reason, updated_at: now })
        .where("id", "=", sessionId)
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      if (numUpdatedRows > 0n) return true;
      const existing = await db
        .selectFrom("sessions")
        .select("id")
        .where("id", "=", sessionId)
        .where("user_id", "=", userId)
        .executeTakeFirst();
      return existing !== undefined;
    },

    /**
     * Revokes every session of the user still standing, or only those signed in through `appid`;
     * resolves how many.
     */
    async revokeAllForUser(
      userId: string,
      reason: SessionRevocationReason,
      now: Date,
      { appid }: { appid?: string } = {},
    ): Promise<number> {
      const { numUpdatedRows } = await db
        .updateTable("sessions")
        .set({ revoked_at: now, revoked_reason: reason, updated_at: now })
        .where("user_id", "=", userId)
        .$if(appid !== undefined, (query) => query.where("appid", "=", appid!))
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      return Number(numUpdatedRows);
    },

    /** The account's deletion: every session of the user and every token in them. */
    async deleteForUser(userId: string): Promise<void> {
      await db
        .deleteFrom("refresh_tokens")
        .where(
          "session_id",
          "in",
          db.selectFrom("sessions").select("id").where("user_id", "=", userId),
        )
        .execute();
      await db.deleteFrom("sessions").where("user_id", "=", userId).execute();
    },

    /** Start-up: sessions from before several apps become `appid`'s (see wechat_identities). */
    async adoptUnadopted(appid: string): Promise<number> {
      const { numUpdatedRows } = await db
        .updateTable("sessions")
        .set({ appid, updated_at: new Date() })
        .where("appid", "=", UNADOPTED_APPID)
        .executeTakeFirst();
      return Number(numUpdatedRows);
    },

    /** Housekeeping: a successor's ciphertext is kept for the grace window only. */
    async forgetSuccessorsRotatedBefore(before: Date): Promise<number> {
      const { numUpdatedRows } = await db
        .updateTable("refresh_tokens")
        .set({ successor_ciphertext: null, updated_at: new Date() })
        .where("rotated_at", "<", before)
        .where("successor_ciphertext", "is not", null)
        .executeTakeFirst();
      return Number(numUpdatedRows);
    },
  };
}

/** The device as reported, without the fields the client left out. */
function reportedDevice(columns: {
  platform: string | null;
  model: string | null;
  system: string | null;
}): Device {
  const device: Device = {};
  for (const field of ["platform", "model", "system"] as const) {
    const value = columns[field];
    if (value !== null) device[field] = value;
  }
  return device;
}

export type SessionsRepository = ReturnType<typeof createSessionsRepository>;
