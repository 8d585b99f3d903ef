import { randomUUID } from "node:crypto";
import type { Database } from "../db/client.js";
import { UNADOPTED_APPID } from "../users/wechat-identities.repository.js";

/** The session_key WeChat gave for an openid of one app at a sign-in (jscode2session), sealed at rest. */
export interface WechatSessionKeyRecord {
  appid: string;
  openid: string;
  unionid: string | null;
  sessionKeyCiphertext: string;
  obtainedAt: Date;
}

export function createWechatSessionKeysRepository(db: Database) {
  return {
    /** Keeps the latest session_key of an openid in its app; resolves the row id. */
    async save(record: WechatSessionKeyRecord): Promise<string> {
      const now = new Date();
      const { id } = await db
        .insertInto("wechat_session_keys")
        .values({
          id: randomUUID(),
          appid: record.appid,
          openid: record.openid,
          unionid: record.unionid,
          session_key_ciphertext: record.sessionKeyCiphertext,
          obtained_at: record.obtainedAt,
          created_at: now,
          updated_at: now,
        })
        .onConflict((conflict) =>
          conflict.columns(["appid", "openid"]).doUpdateSet((eb) => ({
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

    async find(
      appid: string,
      openid: string,
    ): Promise<(WechatSessionKeyRecord & { id: string }) | null> {
      const row = await db
        .selectFrom("wechat_session_keys")
        .select([
          "id",
          "appid",
          "openid",
          "unionid",
          "session_key_ciphertext as sessionKeyCiphertext",
          "obtained_at as obtainedAt",
        ])
        .where("appid", "=", appid)
        .where("openid", "=", openid)
        .executeTakeFirst();
      return row ?? null;
    },

    /** The account's deletion: the session_key kept for one of its identities. */
    async deleteFor(appid: string, openid: string): Promise<number> {
      const { numDeletedRows } = await db
        .deleteFrom("wechat_session_keys")
        .where("appid", "=", appid)
        .where("openid", "=", openid)
        .executeTakeFirst();
      return Number(numDeletedRows);
    },

    /** Start-up: session keys from before several apps become `appid`'s (see wechat_identities). */
    async adoptUnadopted(appid: string): Promise<number> {
      const { numUpdatedRows } = await db
        .updateTable("wechat_session_keys as k")
        .set({ appid, updated_at: new Date() })
        .where("k.appid", "=", UNADOPTED_APPID)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom("wechat_session_keys as taken")
                .select("taken.id")
                .where("taken.appid", "=", appid)
                .whereRef("taken.openid", "=", "k.openid"),
            ),
          ),
        )
        .executeTakeFirst();
      return Number(numUpdatedRows);
    },
  };
}

export type WechatSessionKeysRepository = ReturnType<typeof createWechatSessionKeysRepository>;
