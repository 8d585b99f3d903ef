import { randomUUID } from "node:crypto";
import type { Database } from "../db/client.js";
import { USER_COLUMNS, type UserRecord } from "./users.repository.js";

/**
 * The appid of rows written before the API knew several apps, until it adopts them at start for
 * its first configured app (wechat/adopt-unadopted.ts). Real appids start with "wx".
 */
export const UNADOPTED_APPID = "unadopted";

/** One of a user's WeChat identities: their openid in one mini program. */
export interface WechatIdentityRecord {
  appid: string;
  openid: string;
  createdAt: Date;
}

/**
 * A user's WeChat identities, an openid per app (appid). An openid is unique within its appid
 * (unique index on (appid, openid)), so adding one that exists fails with a unique violation: the
 * caller's transaction runs again and finds it.
 */
export function createWechatIdentitiesRepository(db: Database) {
  return {
    /** The user whose identity in `appid` is `openid`; null when there is none. */
    async findUser(appid: string, openid: string): Promise<UserRecord | null> {
      const row = await db
        .selectFrom("wechat_identities as i")
        .innerJoin("users", "users.id", "i.user_id")
        .select(USER_COLUMNS.map((column) => `users.${column}` as const))
        .where("i.appid", "=", appid)
        .where("i.openid", "=", openid)
        .executeTakeFirst();
      return row ?? null;
    },

    /** Gives the user an identity in `appid`. */
    async add(identity: { userId: string; appid: string; openid: string }): Promise<void> {
      const now = new Date();
      await db
        .insertInto("wechat_identities")
        .values({
          id: randomUUID(),
          user_id: identity.userId,
          appid: identity.appid,
          openid: identity.openid,
          created_at: now,
          updated_at: now,
        })
        .execute();
    },

    /** The user's identities, the oldest first. */
    async listForUser(userId: string): Promise<WechatIdentityRecord[]> {
      return db
        .selectFrom("wechat_identities")
        .select(["appid", "openid", "created_at as createdAt"])
        .where("user_id", "=", userId)
        .orderBy("created_at")
        .orderBy("appid")
        .execute();
    },

    /** The user's openid in `appid` (what WeChat calls about them in that app need); null if none. */
    async openidFor(userId: string, appid: string): Promise<string | null> {
      const row = await db
        .selectFrom("wechat_identities")
        .select("openid")
        .where("user_id", "=", userId)
        .where("appid", "=", appid)
        .executeTakeFirst();
      return row?.openid ?? null;
    },

    /**
     * Removes the identity (appid, openid); resolves the user it was of, or null when there was
     * none (removed already: a replayed push).
     */
    async remove(appid: string, openid: string): Promise<string | null> {
      const row = await db
        .deleteFrom("wechat_identities")
        .where("appid", "=", appid)
        .where("openid", "=", openid)
        .returning("user_id as userId")
        .executeTakeFirst();
      return row?.userId ?? null;
    },

    /** How many identities the user has left. */
    async countForUser(userId: string): Promise<number> {
      const { count } = await db
        .selectFrom("wechat_identities")
        .select((eb) => eb.fn.countAll<string>().as("count"))
        .where("user_id", "=", userId)
        .executeTakeFirstOrThrow();
      return Number(count);
    },

    /**
     * Start-up: identities from before several apps become `appid`'s. One that `appid` already
     * has (written by a newer instance meanwhile) is left for the operator; resolves how many moved.
     */
    async adoptUnadopted(appid: string): Promise<number> {
      const { numUpdatedRows } = await db
        .updateTable("wechat_identities as i")
        .set({ appid, updated_at: new Date() })
        .where("i.appid", "=", UNADOPTED_APPID)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom("wechat_identities as taken")
                .select("taken.id")
                .where("taken.appid", "=", appid)
                .whereRef("taken.openid", "=", "i.openid"),
            ),
          ),
        )
        .executeTakeFirst();
      return Number(numUpdatedRows);
    },
  };
}

export type WechatIdentitiesRepository = ReturnType<typeof createWechatIdentitiesRepository>;
