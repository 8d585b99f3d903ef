import type { Device } from "@wxauth/contracts";
import { dateFrom, dateOrNullFrom, type Sql, type SqlRow } from "../db/client.js";
import { timeOrderedId } from "../db/time-ordered-id.js";

export interface RefreshTokenRecord {
  id: string;
  familyId: string;
  expiresAt: Date;
  rotatedAt: Date | null;
  successorCiphertext: string | null;
  family: { userId: string; revokedAt: Date | null };
}

export interface NewRefreshToken {
  tokenHash: string;
  expiresAt: Date;
}

/** A session as its user's list shows it. */
export interface SessionRecord {
  id: string;
  createdAt: Date;
  lastUsedAt: Date;
  device: Device;
}

/**
 * Why a family stopped: its device logged out, a rotated token came back (reuse), its user
 * revoked it from the list of sessions (one or all), or the user asked for the account's deletion.
 */
export type FamilyRevocationReason = "logout" | "reuse" | "revoke" | "deletion";

const INSERT_FAMILY_SQL = `INSERT INTO refresh_token_families
  (id, user_id, device_platform, device_model, device_system, last_used_at, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;
const INSERT_TOKEN_SQL =
  "INSERT INTO refresh_tokens (id, family_id, token_hash, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)";
const FIND_BY_HASH_SQL = `SELECT t.id, t.family_id AS "familyId", t.expires_at AS "expiresAt",
    t.rotated_at AS "rotatedAt", t.successor_ciphertext AS "successorCiphertext",
    f.user_id AS "userId", f.revoked_at AS "revokedAt"
  FROM refresh_tokens t JOIN refresh_token_families f ON f.id = t.family_id
  WHERE t.token_hash = ?`;
const MARK_ROTATED_SQL =
  "UPDATE refresh_tokens SET rotated_at = ?, successor_ciphertext = ?, updated_at = ? WHERE id = ? AND rotated_at IS NULL";
const REVOKE_FAMILY_SQL =
  "UPDATE refresh_token_families SET revoked_at = ?, revoked_reason = ?, updated_at = ? WHERE id = ? AND revoked_at IS NULL";
const MARK_USED_SQL =
  "UPDATE refresh_token_families SET last_used_at = ?, updated_at = ? WHERE id = ?";
const IS_ACTIVE_SQL =
  "SELECT 1 AS active FROM refresh_token_families WHERE id = ? AND user_id = ? AND revoked_at IS NULL";
const EXISTS_FOR_USER_SQL =
  "SELECT 1 AS found FROM refresh_token_families WHERE id = ? AND user_id = ?";
/** A live family: not revoked, and its current token not expired. */
const LIST_ACTIVE_SQL = `SELECT f.id, f.created_at AS "createdAt", f.last_used_at AS "lastUsedAt",
    f.device_platform AS "platform", f.device_model AS "model", f.device_system AS "system"
  FROM refresh_token_families f
  WHERE f.user_id = ? AND f.revoked_at IS NULL AND EXISTS (
    SELECT 1 FROM refresh_tokens t
    WHERE t.family_id = f.id AND t.rotated_at IS NULL AND t.expires_at > ?)
  ORDER BY f.created_at DESC, f.id DESC`;
const REVOKE_USER_FAMILY_SQL = `UPDATE refresh_token_families
  SET revoked_at = ?, revoked_reason = ?, updated_at = ?
  WHERE id = ? AND user_id = ? AND revoked_at IS NULL`;
const REVOKE_USER_FAMILIES_SQL = `UPDATE refresh_token_families
  SET revoked_at = ?, revoked_reason = ?, updated_at = ?
  WHERE user_id = ? AND revoked_at IS NULL`;
const DELETE_USER_TOKENS_SQL = `DELETE FROM refresh_tokens
  WHERE family_id IN (SELECT id FROM refresh_token_families WHERE user_id = ?)`;
const DELETE_USER_FAMILIES_SQL = "DELETE FROM refresh_token_families WHERE user_id = ?";
const FORGET_SUCCESSORS_SQL =
  "UPDATE refresh_tokens SET successor_ciphertext = NULL, updated_at = ? WHERE rotated_at < ? AND successor_ciphertext IS NOT NULL";

/**
 * Sign-ins: a refresh-token family each, with every token it rotated through. The methods that
 * write two rows (createFamily, rotate) run in a transaction: pass them the transaction's Sql.
 */
export function createRefreshTokensRepository(sql: Sql) {
  const insertToken = (familyId: string, token: NewRefreshToken, now: Date) =>
    sql.execute(INSERT_TOKEN_SQL, [
      timeOrderedId(),
      familyId,
      token.tokenHash,
      token.expiresAt,
      now,
      now,
    ]);

  return {
    /** Starts a family (one sign-in) with its first token; resolves the family id. */
    async createFamily(userId: string, device: Device, first: NewRefreshToken): Promise<string> {
      const familyId = timeOrderedId();
      const now = new Date();
      await sql.execute(INSERT_FAMILY_SQL, [
        familyId,
        userId,
        device.platform ?? null,
        device.model ?? null,
        device.system ?? null,
        now,
        now,
        now,
      ]);
      await insertToken(familyId, first, now);
      return familyId;
    },

    async findByHash(tokenHash: string): Promise<RefreshTokenRecord | null> {
      const [row] = await sql.query(FIND_BY_HASH_SQL, [tokenHash]);
      if (!row) return null;
      return {
        id: row.id as string,
        familyId: row.familyId as string,
        expiresAt: dateFrom(row.expiresAt),
        rotatedAt: dateOrNullFrom(row.rotatedAt),
        successorCiphertext: row.successorCiphertext as string | null,
        family: { userId: row.userId as string, revokedAt: dateOrNullFrom(row.revokedAt) },
      };
    },

    /**
     * Replaces `current` by `next` in its family. The conditional update lets exactly one of
     * several concurrent rotations win; the losers resolve false and answer from the grace data
     * the winner left (`successorCiphertext`).
     */
    async rotate(
      current: { id: string; familyId: string },
      next: NewRefreshToken,
      rotatedAt: Date,
      successorCiphertext: string,
    ): Promise<boolean> {
      const now = new Date();
      const rotated = await sql.execute(MARK_ROTATED_SQL, [
        rotatedAt,
        successorCiphertext,
        now,
        current.id,
      ]);
      if (rotated !== 1) return false;
      await insertToken(current.familyId, next, now);
      await sql.execute(MARK_USED_SQL, [rotatedAt, now, current.familyId]);
      return true;
    },

    async revokeFamily(familyId: string, reason: FamilyRevocationReason, now: Date): Promise<void> {
      await sql.execute(REVOKE_FAMILY_SQL, [now, reason, now, familyId]);
    },

    /** Whether the user's family stands: not revoked, and not deleted with its account. */
    async isActive(familyId: string, userId: string): Promise<boolean> {
      return (await sql.query(IS_ACTIVE_SQL, [familyId, userId])).length > 0;
    },

    /** The user's live sessions, newest first. */
    async listActive(userId: string, now: Date): Promise<SessionRecord[]> {
      const rows = await sql.query(LIST_ACTIVE_SQL, [userId, now]);
      return rows.map((row) => ({
        id: row.id as string,
        createdAt: dateFrom(row.createdAt),
        lastUsedAt: dateFrom(row.lastUsedAt),
        device: deviceFrom(row),
      }));
    },

    /**
     * Revokes one family of the user. Resolves false when the user has no family of that id, and
     * true when it is revoked now or was already.
     */
    async revokeForUser(
      familyId: string,
      userId: string,
      reason: FamilyRevocationReason,
      now: Date,
    ): Promise<boolean> {
      const revoked = await sql.execute(REVOKE_USER_FAMILY_SQL, [
        now,
        reason,
        now,
        familyId,
        userId,
      ]);
      if (revoked > 0) return true;
      return (await sql.query(EXISTS_FOR_USER_SQL, [familyId, userId])).length > 0;
    },

    /** Revokes every family of the user still standing; resolves how many. */
    revokeAllForUser: (userId: string, reason: FamilyRevocationReason, now: Date) =>
      sql.execute(REVOKE_USER_FAMILIES_SQL, [now, reason, now, userId]),

    /** The account's deletion: every family of the user and every token in them. */
    async deleteForUser(userId: string): Promise<void> {
      await sql.execute(DELETE_USER_TOKENS_SQL, [userId]);
      await sql.execute(DELETE_USER_FAMILIES_SQL, [userId]);
    },

    /** Housekeeping: a successor's ciphertext is kept for the grace window only. */
    forgetSuccessorsRotatedBefore: (before: Date): Promise<number> =>
      sql.execute(FORGET_SUCCESSORS_SQL, [new Date(), before]),
  };
}

/** The device columns of a row, without the ones the client did not report. */
function deviceFrom(row: SqlRow): Device {
  const device: Device = {};
  for (const field of ["platform", "model", "system"] as const) {
    const value = row[field];
    if (typeof value === "string") device[field] = value;
  }
  return device;
}

export type RefreshTokensRepository = ReturnType<typeof createRefreshTokensRepository>;
