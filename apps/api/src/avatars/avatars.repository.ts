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

    /** Records the trace_id of the avatar's content check; false when it is gone (replaced). */
    async setCheckTraceId(id: string, traceId: string): Promise<boolean> {
      const { numUpdatedRows } = await db
        .updateTable("avatars")
        .set({ check_trace_id: traceId, updated_at: new Date() })
        .where("id", "=", id)
        .executeTakeFirst();
      return numUpdatedRows > 0n;
    },

    /** The avatar whose content check has this trace_id; null when none has (replaced, removed). */
    async findByCheckTraceId(traceId: string): Promise<{ id: string; userId: string } | null> {
      const row = await db
        .selectFrom("avatars")
        .select(["id", "user_id as userId"])
        .where("check_trace_id", "=", traceId)
        .executeTakeFirst();
      return row ?? null;
    },

    /**
     * Deletes the avatar whose content check has this trace_id. Resolves what was deleted, or null
     * when nothing was: of two deliveries of one verdict (or two instances), exactly one deletes.
     */
    async deleteByCheckTraceId(traceId: string): Promise<{ id: string; userId: string } | null> {
      const row = await db
        .deleteFrom("avatars")
        .where("check_trace_id", "=", traceId)
        .returning(["id", "user_id as userId"])
        .executeTakeFirst();
      return row ?? null;
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
