import type { Database, DatabaseTransaction } from "../db/client.js";
import { directSqlOf, type SqlRow } from "../db/direct-sql.js";
import { timeOrderedId } from "../db/time-ordered-id.js";
import {
  createWechatSessionsRepository,
  saveWechatSessionDirectly,
  type WechatSessionWrite,
} from "./wechat-sessions.repository.js";

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

/*
 * Every sign-in starts a family and every refresh finds and rotates a token: these statements run
 * on the direct path (db/direct-sql.ts) when the database has one.
 */
const INSERT_TOKEN_SQL =
  "INSERT INTO refresh_tokens (id, family_id, token_hash, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)";
const FIND_BY_HASH_SQL = `SELECT t.id, t.family_id AS "familyId", t.expires_at AS "expiresAt",
    t.rotated_at AS "rotatedAt", t.successor_ciphertext AS "successorCiphertext",
    f.user_id AS "userId", f.revoked_at AS "revokedAt"
  FROM refresh_tokens t JOIN refresh_token_families f ON f.id = t.family_id
  WHERE t.token_hash = ?`;

const dateOrNull = (value: unknown) => (value === null ? null : new Date(String(value)));

function refreshTokenFromRow(row: SqlRow): RefreshTokenRecord {
  return {
    id: String(row.id),
    familyId: String(row.familyId),
    expiresAt: new Date(String(row.expiresAt)),
    rotatedAt: dateOrNull(row.rotatedAt),
    successorCiphertext: row.successorCiphertext === null ? null : String(row.successorCiphertext),
    family: { userId: String(row.userId), revokedAt: dateOrNull(row.revokedAt) },
  };
}

export function createRefreshTokensRepository(db: Database) {
  // Looked up per call: PostgreSQL's adapter connects on the first query, not at construction.
  const direct = () => directSqlOf(db);
  return {
    /**
     * Starts a family (one sign-in) with its first token; resolves the family id. A sign-in with
     * WeChat saves the WeChat session it came with in the same transaction: one commit per
     * sign-in, where a commit of its own cost the session's upsert about 30 µs on SQLite (and a
     * WAL flush on PostgreSQL).
     */
    async createFamily(
      userId: string,
      first: NewRefreshToken,
      wechatSession?: WechatSessionWrite,
    ): Promise<string> {
      const sql = direct();
      if (sql) {
        const familyId = timeOrderedId();
        const now = new Date();
        await sql.transaction(async (transaction) => {
          if (wechatSession) await saveWechatSessionDirectly(transaction, wechatSession);
          await transaction.execute(
            "INSERT INTO refresh_token_families (id, user_id, created_at, updated_at) VALUES (?, ?, ?, ?)",
            [familyId, userId, now, now],
          );
          await transaction.execute(INSERT_TOKEN_SQL, [
            timeOrderedId(),
            familyId,
            first.tokenHash,
            first.expiresAt,
            now,
            now,
          ]);
        });
        return familyId;
      }
      return db.$transaction(async (tx: DatabaseTransaction) => {
        if (wechatSession) await createWechatSessionsRepository(tx).save(wechatSession);
        const { id } = await tx.refreshTokenFamily.create({
          data: { userId, refreshTokens: { create: first } },
          select: { id: true },
        });
        return id;
      });
    },

    findByHash: async (tokenHash: string): Promise<RefreshTokenRecord | null> => {
      const sql = direct();
      if (sql) {
        const [row] = await sql.query(FIND_BY_HASH_SQL, [tokenHash]);
        return row ? refreshTokenFromRow(row) : null;
      }
      return db.refreshToken.findUnique({
        where: { tokenHash },
        select: {
          id: true,
          familyId: true,
          expiresAt: true,
          rotatedAt: true,
          successorCiphertext: true,
          family: { select: { userId: true, revokedAt: true } },
        },
      });
    },

    /**
     * Replaces `current` by `next` in its family. The conditional update lets exactly one of
     * several concurrent rotations win; the losers resolve false and answer from the grace data
     * the winner left (`successorCiphertext`).
     */
    rotate(
      current: { id: string; familyId: string },
      next: NewRefreshToken,
      rotatedAt: Date,
      successorCiphertext: string,
    ): Promise<boolean> {
      const sql = direct();
      if (sql) {
        return sql.transaction(async (transaction) => {
          const rotated = await transaction.execute(
            "UPDATE refresh_tokens SET rotated_at = ?, successor_ciphertext = ?, updated_at = ? WHERE id = ? AND rotated_at IS NULL",
            [rotatedAt, successorCiphertext, new Date(), current.id],
          );
          if (rotated !== 1) return false;
          const now = new Date();
          await transaction.execute(INSERT_TOKEN_SQL, [
            timeOrderedId(),
            current.familyId,
            next.tokenHash,
            next.expiresAt,
            now,
            now,
          ]);
          return true;
        });
      }
      return db.$transaction(async (tx: DatabaseTransaction) => {
        const { count } = await tx.refreshToken.updateMany({
          where: { id: current.id, rotatedAt: null },
          data: { rotatedAt, successorCiphertext },
        });
        if (count !== 1) return false;
        await tx.refreshToken.create({
          data: { ...next, familyId: current.familyId },
          select: { id: true },
        });
        return true;
      });
    },

    async revokeFamily(familyId: string, reason: FamilyRevocationReason, now: Date): Promise<void> {
      await db.refreshTokenFamily.updateMany({
        where: { id: familyId, revokedAt: null },
        data: { revokedAt: now, revokedReason: reason },
      });
    },

    /** Housekeeping: a successor's ciphertext is kept for the grace window only. */
    async forgetSuccessorsRotatedBefore(before: Date): Promise<number> {
      const { count } = await db.refreshToken.updateMany({
        where: { rotatedAt: { lt: before }, successorCiphertext: { not: null } },
        data: { successorCiphertext: null },
      });
      return count;
    },
  };
}

export type RefreshTokensRepository = ReturnType<typeof createRefreshTokensRepository>;
