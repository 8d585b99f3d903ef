import type { Database, DatabaseTransaction } from "../db/client.js";

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

export function createRefreshTokensRepository(db: Database) {
  return {
    /** Starts a family (one sign-in) with its first token; resolves the family id. */
    async createFamily(userId: string, first: NewRefreshToken): Promise<string> {
      const { id } = await db.refreshTokenFamily.create({
        data: { userId, refreshTokens: { create: first } },
        select: { id: true },
      });
      return id;
    },

    findByHash: (tokenHash: string): Promise<RefreshTokenRecord | null> =>
      db.refreshToken.findUnique({
        where: { tokenHash },
        select: {
          id: true,
          familyId: true,
          expiresAt: true,
          rotatedAt: true,
          successorCiphertext: true,
          family: { select: { userId: true, revokedAt: true } },
        },
      }),

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
