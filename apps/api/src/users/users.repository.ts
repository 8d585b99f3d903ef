import type { Database, DatabaseTransaction } from "../db/client.js";
import { directSqlOf, type DirectSql, type SqlRow } from "../db/direct-sql.js";

export interface UserRecord {
  id: string;
  phone: string | null;
  openid: string | null;
  unionid: string | null;
  nickname: string | null;
  avatarUrl: string | null;
  createdAt: Date;
}

export interface NewUser {
  openid?: string | null;
  unionid?: string | null;
  phone?: string | null;
}

export type UserChanges = Partial<
  Pick<UserRecord, "phone" | "openid" | "unionid" | "nickname" | "avatarUrl">
>;

const userColumns = {
  id: true,
  phone: true,
  openid: true,
  unionid: true,
  nickname: true,
  avatarUrl: true,
  createdAt: true,
} as const;

/** The same columns for the direct path (db/direct-sql.ts): `avatar_url AS "avatarUrl"`, ... */
const USER_COLUMNS_SQL = Object.keys(userColumns)
  .map((field) => `${field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)} AS "${field}"`)
  .join(", ");

function userFromRow(row: SqlRow | undefined): UserRecord | null {
  if (!row) return null;
  return { ...(row as Omit<UserRecord, "createdAt">), createdAt: new Date(String(row.createdAt)) };
}

/** A user by id or openid on the direct path: two statements every sign-in and /api/me run. */
async function findUserDirectly(direct: DirectSql, column: "id" | "openid", value: string) {
  const [row] = await direct.query(`SELECT ${USER_COLUMNS_SQL} FROM users WHERE ${column} = ?`, [
    value,
  ]);
  return userFromRow(row);
}

export function createUsersRepository(db: Database | DatabaseTransaction) {
  // Looked up per call: PostgreSQL's adapter connects on the first query, not at construction.
  const direct = () => directSqlOf(db);
  return {
    findById: (id: string): Promise<UserRecord | null> => {
      const sql = direct();
      return sql
        ? findUserDirectly(sql, "id", id)
        : db.user.findUnique({ where: { id }, select: userColumns });
    },
    findByOpenid: (openid: string): Promise<UserRecord | null> => {
      const sql = direct();
      return sql
        ? findUserDirectly(sql, "openid", openid)
        : db.user.findUnique({ where: { openid }, select: userColumns });
    },
    findByPhone: (phone: string): Promise<UserRecord | null> =>
      db.user.findUnique({ where: { phone }, select: userColumns }),
    findByUnionid: (unionid: string): Promise<UserRecord | null> =>
      db.user.findUnique({ where: { unionid }, select: userColumns }),
    create: (user: NewUser): Promise<UserRecord> =>
      db.user.create({ data: user, select: userColumns }),
    update: (id: string, changes: UserChanges): Promise<UserRecord> =>
      db.user.update({ where: { id }, data: changes, select: userColumns }),
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
