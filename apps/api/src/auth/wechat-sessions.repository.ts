import { randomUUID } from "node:crypto";
import type { Database, DatabaseTransaction } from "../db/client.js";
import { directSqlOf, type SqlStatements } from "../db/direct-sql.js";

export interface WechatSessionWrite {
  openid: string;
  unionid: string | null;
  sessionKeyCiphertext: string;
  obtainedAt: Date;
}

/** Every sign-in saves its session: one statement on the direct path (db/direct-sql.ts). */
const UPSERT_SQL = `INSERT INTO wechat_sessions
  (id, openid, unionid, session_key_ciphertext, obtained_at, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (openid) DO UPDATE SET unionid = excluded.unionid,
    session_key_ciphertext = excluded.session_key_ciphertext,
    obtained_at = excluded.obtained_at, updated_at = excluded.updated_at
  RETURNING id`;

/**
 * Keeps the latest session of an openid on the direct path, through `statements`: the database's,
 * or a transaction's (a sign-in saves its session in the transaction that starts its refresh-token
 * family, auth/refresh-tokens.repository.ts). Resolves the row id.
 */
export async function saveWechatSessionDirectly(
  statements: SqlStatements,
  session: WechatSessionWrite,
): Promise<string> {
  const now = new Date();
  const [row] = await statements.query(UPSERT_SQL, [
    randomUUID(),
    session.openid,
    session.unionid,
    session.sessionKeyCiphertext,
    session.obtainedAt,
    now,
    now,
  ]);
  return String(row?.id);
}

export function createWechatSessionsRepository(db: Database | DatabaseTransaction) {
  // Looked up per call: PostgreSQL's adapter connects on the first query, not at construction.
  const direct = () => directSqlOf(db);
  return {
    /** Keeps the latest session of an openid; resolves the row id. */
    async save(session: WechatSessionWrite): Promise<string> {
      const sql = direct();
      if (sql) return saveWechatSessionDirectly(sql, session);
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
