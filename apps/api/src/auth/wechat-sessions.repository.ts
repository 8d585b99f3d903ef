import type { Database, DatabaseTransaction } from "../db/client.js";

export interface WechatSessionWrite {
  openid: string;
  unionid: string | null;
  sessionKeyCiphertext: string;
  obtainedAt: Date;
}

export function createWechatSessionsRepository(db: Database | DatabaseTransaction) {
  return {
    /** Keeps the latest session of an openid; resolves the row id. */
    async save(session: WechatSessionWrite): Promise<string> {
      const { id } = await db.wechatSession.upsert({
        where: { openid: session.openid },
        create: session,
        update: {
          unionid: session.unionid,
          sessionKeyCiphertext: session.sessionKeyCiphertext,
          obtainedAt: session.obtainedAt,
        },
        select: { id: true },
      });
      return id;
    },
    findByOpenid: (openid: string) =>
      db.wechatSession.findUnique({
        where: { openid },
        select: {
          id: true,
          openid: true,
          unionid: true,
          sessionKeyCiphertext: true,
          obtainedAt: true,
        },
      }),
  };
}

export type WechatSessionsRepository = ReturnType<typeof createWechatSessionsRepository>;
