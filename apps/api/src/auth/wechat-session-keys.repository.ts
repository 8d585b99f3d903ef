import { randomUUID } from "node:crypto";
import { dateFrom, type Sql } from "../db/client.js";

/** The session_key WeChat gave for an openid at a sign-in (jscode2session), sealed at rest. */
export interface WechatSessionKeyRecord {
  openid: string;
  unionid: string | null;
  sessionKeyCiphertext: string;
  obtainedAt: Date;
}

const SAVE_SQL = `INSERT INTO wechat_session_keys
  (id, openid, unionid, session_key_ciphertext, obtained_at, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (openid) DO UPDATE SET unionid = excluded.unionid,
    session_key_ciphertext = excluded.session_key_ciphertext,
    obtained_at = excluded.obtained_at, updated_at = excluded.updated_at
  RETURNING id`;

const FIND_BY_OPENID_SQL = `SELECT id, openid, unionid,
    session_key_ciphertext AS "sessionKeyCiphertext", obtained_at AS "obtainedAt"
  FROM wechat_session_keys WHERE openid = ?`;

const DELETE_FOR_OPENID_SQL = "DELETE FROM wechat_session_keys WHERE openid = ?";

export function createWechatSessionKeysRepository(sql: Sql) {
  return {
    /** Keeps the latest session_key of an openid; resolves the row id. */
    async save(record: WechatSessionKeyRecord): Promise<string> {
      const now = new Date();
      const [row] = await sql.query<{ id: string }>(SAVE_SQL, [
        randomUUID(),
        record.openid,
        record.unionid,
        record.sessionKeyCiphertext,
        record.obtainedAt,
        now,
        now,
      ]);
      return row!.id;
    },

    async findByOpenid(openid: string): Promise<(WechatSessionKeyRecord & { id: string }) | null> {
      const [row] = await sql.query<WechatSessionKeyRecord & { id: string }>(FIND_BY_OPENID_SQL, [
        openid,
      ]);
      return row ? { ...row, obtainedAt: dateFrom(row.obtainedAt) } : null;
    },

    /** The account's deletion: the session_key kept for the WeChat user. */
    deleteForOpenid: (openid: string): Promise<number> =>
      sql.execute(DELETE_FOR_OPENID_SQL, [openid]),
  };
}

export type WechatSessionKeysRepository = ReturnType<typeof createWechatSessionKeysRepository>;
