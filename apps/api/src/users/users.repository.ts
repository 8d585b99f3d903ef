import { randomUUID } from "node:crypto";
import { dateFrom, type Sql, type SqlValue } from "../db/client.js";

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

/** The column of each field a change may set. */
const CHANGEABLE_COLUMNS = {
  phone: "phone",
  openid: "openid",
  unionid: "unionid",
  nickname: "nickname",
  avatarUrl: "avatar_url",
} as const satisfies Record<keyof UserChanges, string>;

const USER_COLUMNS = `id, phone, openid, unionid, nickname, avatar_url AS "avatarUrl",
  created_at AS "createdAt"`;
const INSERT_SQL = `INSERT INTO users (id, openid, unionid, phone, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?) RETURNING ${USER_COLUMNS}`;

const userFrom = (row: UserRecord | undefined): UserRecord | null =>
  row ? { ...row, createdAt: dateFrom(row.createdAt) } : null;

export function createUsersRepository(sql: Sql) {
  const findBy = (column: "id" | "openid" | "phone" | "unionid") => {
    const text = `SELECT ${USER_COLUMNS} FROM users WHERE ${column} = ?`;
    return async (value: string): Promise<UserRecord | null> =>
      userFrom((await sql.query<UserRecord>(text, [value]))[0]);
  };

  return {
    findById: findBy("id"),
    findByOpenid: findBy("openid"),
    findByPhone: findBy("phone"),
    findByUnionid: findBy("unionid"),

    async create(user: NewUser): Promise<UserRecord> {
      const now = new Date();
      const [row] = await sql.query<UserRecord>(INSERT_SQL, [
        randomUUID(),
        user.openid ?? null,
        user.unionid ?? null,
        user.phone ?? null,
        now,
        now,
      ]);
      return userFrom(row)!;
    },

    /** The user after the change; null when no user has the id. */
    async update(id: string, changes: UserChanges): Promise<UserRecord | null> {
      const fields = (Object.keys(CHANGEABLE_COLUMNS) as Array<keyof UserChanges>).filter(
        (field) => changes[field] !== undefined,
      );
      const assignments = fields.map((field) => `${CHANGEABLE_COLUMNS[field]} = ?, `).join("");
      const values: SqlValue[] = fields.map((field) => changes[field] ?? null);
      const [row] = await sql.query<UserRecord>(
        `UPDATE users SET ${assignments}updated_at = ? WHERE id = ? RETURNING ${USER_COLUMNS}`,
        [...values, new Date(), id],
      );
      return userFrom(row);
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
