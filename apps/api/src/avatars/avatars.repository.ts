import type { Database } from "../db/client.js";

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

export function createAvatarsRepository(db: Database) {
  const deleteForUser = (userId: string) => db.deleteFrom("avatars").where("user_id", "=", userId);

  return {
    async findById(id: string): Promise<StoredAvatar | null> {
      const row = await db
        .selectFrom("avatars")
        .select(["content_type as contentType", "bytes"])
        .where("id", "=", id)
        .executeTakeFirst();
      return row ?? null;
    },

    /** Deletes the user's stored avatar unless it is `keepId`: avatarUrl no longer points at it. */
    async deleteForUserExcept(userId: string, keepId: string | undefined): Promise<void> {
      await (
        keepId === undefined
          ? deleteForUser(userId)
          : deleteForUser(userId).where("id", "<>", keepId)
      ).execute();
    },

    /** Stores `avatar` as the user's only one. Run it in a transaction with the avatarUrl change. */
    async replaceForUser(avatar: NewAvatar): Promise<void> {
      const now = new Date();
      await deleteForUser(avatar.userId).execute();
      await db
        .insertInto("avatars")
        .values({
          id: avatar.id,
          user_id: avatar.userId,
          content_type: avatar.contentType,
          bytes: Buffer.from(avatar.bytes.buffer, avatar.bytes.byteOffset, avatar.bytes.byteLength),
          byte_length: avatar.bytes.byteLength,
          created_at: now,
          updated_at: now,
        })
        .execute();
    },
  };
}

export type AvatarsRepository = ReturnType<typeof createAvatarsRepository>;
