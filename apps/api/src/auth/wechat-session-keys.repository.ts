import { randomUUID } from "node:crypto";
import type { Database } from "../db/client.js";

/** The session_key WeChat gave for an openid at a sign-in (jscode2session), sealed at rest. */
export interface WechatSessionKeyRecord {
  openid: string;
  unionid: string | null;
  sessionKeyCiphertext: string;
  obtainedAt: Date;
}

export function createWechatSessionKeysRepository(db: Database) {
  return {
    /** Keeps the latest session_key of an openid; resolves the row id. */
    async save(record: WechatSessionKeyRecord): Promise<string> {
      const now = new Date();
      const { id } = await db
        .insertInto("wechat_session_keys")
        .values({
          id: randomUUID(),
          openid: record.openid,
          unionid: record.unionid,
          session_key_ciphertext: record.sessionKeyCiphertext,
          obtained_at: record.obtainedAt,
          created_at: now,
          updated_at: now,
        })
        .onConflict((conflict) =>
          conflict.column("openid").doUpdateSet((eb) => ({
            unionid: eb.ref("excluded.unionid"),
            session_key_ciphertext: eb.ref("excluded.session_key_ciphertext"),
            obtained_at: eb.ref("excluded.obtained_at"),
            updated_at: eb.ref("excluded.updated_at"),
          })),
        )
        .returning("id")
        .executeTakeFirstOrThrow();
      return id;
    },

    async findByOpenid(openid: string): Promise<(WechatSessionKeyRecord & { id: string }) | null> {
      const row = await db
        .selectFrom("wechat_session_keys")
        .select([
          "id",
          "openid",
          "unionid",
          "session_key_ciphertext as sessionKeyCiphertext",
          "obtained_at as obtainedAt",
        ])
        .where("openid", "=", openid)
        .executeTakeFirst();
      return row ?? null;
    },

    /** The account's deletion: the session_key kept for the WeChat user. */
    async deleteForOpenid(openid: string): Promise<number> {
      const { numDeletedRows } = await db
        .deleteFrom("wechat_session_keys")
        .where("openid", "=", openid)
        .executeTakeFirst();
      return Number(numDeletedRows);
    },
  };
}

export type WechatSessionKeysRepository = ReturnType<typeof createWechatSessionKeysRepository>;
