import type { Sql } from "../db/client.js";

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

const FIND_SQL = 'SELECT content_type AS "contentType", bytes FROM avatars WHERE id = ?';
const DELETE_FOR_USER_SQL = "DELETE FROM avatars WHERE user_id = ?";
const DELETE_FOR_USER_EXCEPT_SQL = "DELETE FROM avatars WHERE user_id = ? AND id <> ?";
const INSERT_SQL = `INSERT INTO avatars
  (id, user_id, content_type, bytes, byte_length, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?)`;

export function createAvatarsRepository(sql: Sql) {
  return {
    async findById(id: string): Promise<StoredAvatar | null> {
      const [row] = await sql.query<StoredAvatar>(FIND_SQL, [id]);
      return row ?? null;
    },

    /** Deletes the user's stored avatar unless it is `keepId`: avatarUrl no longer points at it. */
    async deleteForUserExcept(userId: string, keepId: string | undefined): Promise<void> {
      if (keepId === undefined) await sql.execute(DELETE_FOR_USER_SQL, [userId]);
      else await sql.execute(DELETE_FOR_USER_EXCEPT_SQL, [userId, keepId]);
    },

    /** Stores `avatar` as the user's only one. Run it in a transaction with the avatarUrl change. */
    async replaceForUser(avatar: NewAvatar): Promise<void> {
      const now = new Date();
      await sql.execute(DELETE_FOR_USER_SQL, [avatar.userId]);
      await sql.execute(INSERT_SQL, [
        avatar.id,
        avatar.userId,
        avatar.contentType,
        avatar.bytes,
        avatar.bytes.byteLength,
        now,
        now,
      ]);
    },
  };
}

export type AvatarsRepository = ReturnType<typeof createAvatarsRepository>;
