import type { Database, DatabaseTransaction } from "../db/client.js";

export interface NewAvatar {
  id: string;
  userId: string;
  contentType: string;
  bytes: Uint8Array<ArrayBuffer>;
}

export interface StoredAvatar {
  contentType: string;
  bytes: Uint8Array;
}

export function createAvatarsRepository(db: Database | DatabaseTransaction) {
  return {
    findById: (id: string): Promise<StoredAvatar | null> =>
      db.avatar.findUnique({ where: { id }, select: { contentType: true, bytes: true } }),

    /** Deletes the user's stored avatar unless it is `keepId`: avatarUrl no longer points at it. */
    async deleteForUserExcept(userId: string, keepId: string | undefined): Promise<void> {
      await db.avatar.deleteMany({
        where: keepId === undefined ? { userId } : { userId, id: { not: keepId } },
      });
    },

    /** Stores `avatar` as the user's only one. Run it in a transaction with the avatarUrl change. */
    async replaceForUser(avatar: NewAvatar): Promise<void> {
      await db.avatar.deleteMany({ where: { userId: avatar.userId } });
      await db.avatar.create({
        data: { ...avatar, byteLength: avatar.bytes.byteLength },
        select: { id: true },
      });
    },
  };
}

export type AvatarsRepository = ReturnType<typeof createAvatarsRepository>;
