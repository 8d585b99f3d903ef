import { AT_REST_LABELS } from "../auth/at-rest-cipher.js";
import type { Database } from "../db/client.js";
import type { SealedColumn, SealedValue } from "./reseal.js";

/*
 * The columns that hold sealed values, for `keys:reseal`. Re-sealing reads and writes them directly
 * rather than through their repositories: it is an operator's command over whole tables, and it
 * keeps its SQL in this one file.
 */
const SEALED_COLUMNS = [
  {
    table: "wechat_session_keys",
    column: "session_key_ciphertext",
    label: AT_REST_LABELS.wechatSessionKey,
  },
  {
    table: "refresh_tokens",
    column: "successor_ciphertext",
    label: AT_REST_LABELS.refreshTokenSuccessor,
  },
] as const;

export function createSealedColumns(db: Database): SealedColumn[] {
  return SEALED_COLUMNS.map(({ table, column, label }) => {
    const listSql = `SELECT id, ${column} AS sealed FROM ${table}
      WHERE ${column} IS NOT NULL AND id > ? ORDER BY id LIMIT ?`;
    const replaceSql = `UPDATE ${table} SET ${column} = ? WHERE id = ? AND ${column} = ?`;
    return {
      table,
      label,
      // Every id sorts after the empty string.
      list: (afterId, limit) => db.query<SealedValue>(listSql, [afterId ?? "", limit]),
      replace: async (id, sealed, resealed) =>
        (await db.execute(replaceSql, [resealed, id, sealed])) === 1,
    };
  });
}
