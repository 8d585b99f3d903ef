import { dateFrom, dateOrNullFrom, type Sql } from "../db/client.js";
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

export type FamilyRevocationReason = "logout" | "reuse";

const INSERT_FAMILY_SQL =
  "INSERT INTO refresh_token_families (id, user_id, created_at, updated_at) VALUES (?, ?, ?, ?)";
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
    async createFamily(userId: string, first: NewRefreshToken): Promise<string> {
      const familyId = timeOrderedId();
      const now = new Date();
      // Sent together (one round trip on PostgreSQL, see db/client.ts); they run in order.
      await Promise.all([
        sql.execute(INSERT_FAMILY_SQL, [familyId, userId, now, now]),
        insertToken(familyId, first, now),
      ]);
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
      return true;
    },

    async revokeFamily(familyId: string, reason: FamilyRevocationReason, now: Date): Promise<void> {
      await sql.execute(REVOKE_FAMILY_SQL, [now, reason, now, familyId]);
    },

    /** Housekeeping: a successor's ciphertext is kept for the grace window only. */
    forgetSuccessorsRotatedBefore: (before: Date): Promise<number> =>
      sql.execute(FORGET_SUCCESSORS_SQL, [new Date(), before]),
  };
}

export type RefreshTokensRepository = ReturnType<typeof createRefreshTokensRepository>;
