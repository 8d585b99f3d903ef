import { AT_REST_LABELS } from "../auth/at-rest-cipher.js";
import type { Database } from "../db/client.js";
import type { SealedColumn } from "./reseal.js";

/*
 * The columns that hold sealed values, for `keys:reseal`. Re-sealing reads and writes them directly
 * rather than through their repositories: it is an operator's command over whole tables, and it
 * keeps its queries in this one file.
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
  return SEALED_COLUMNS.map(({ table, column, label }) => ({
    table,
    label,
    list: async (afterId, limit) => {
      const rows = await db
        .selectFrom(table)
        .select(["id", `${column} as sealed`])
        .where(column, "is not", null)
        // Every id sorts after the empty string.
        .where("id", ">", afterId ?? "")
        .orderBy("id")
        .limit(limit)
        .execute();
      return rows.flatMap(({ id, sealed }) => (sealed === null ? [] : [{ id, sealed }]));
    },
    replace: async (id, sealed, resealed) => {
      const result = await db
        .updateTable(table)
        .set({ [column]: resealed })
        .where("id", "=", id)
        .where(column, "=", sealed)
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },
  }));
}
