import { randomUUID } from "node:crypto";
import { dateFrom, dateOrNullFrom, type Sql, type SqlValue } from "../db/client.js";

export interface UserRecord {
  id: string;
  phone: string | null;
  openid: string | null;
  unionid: string | null;
  nickname: string | null;
  avatarUrl: string | null;
  createdAt: Date;
  /** When the deletion the user asked for is due; null when none is. */
  deletionScheduledAt: Date | null;
}

export interface NewUser {
  openid?: string | null;
  unionid?: string | null;
  phone?: string | null;
}

export type UserChanges = Partial<
  Pick<
    UserRecord,
    "phone" | "openid" | "unionid" | "nickname" | "avatarUrl" | "deletionScheduledAt"
  >
>;

/** The column of each field a change may set. */
const CHANGEABLE_COLUMNS = {
  phone: "phone",
  openid: "openid",
  unionid: "unionid",
  nickname: "nickname",
  avatarUrl: "avatar_url",
  deletionScheduledAt: "deletion_scheduled_at",
} as const satisfies Record<keyof UserChanges, string>;

const USER_COLUMNS = `id, phone, openid, unionid, nickname, avatar_url AS "avatarUrl",
  created_at AS "createdAt", deletion_scheduled_at AS "deletionScheduledAt"`;
const INSERT_SQL = `INSERT INTO users (id, openid, unionid, phone, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?) RETURNING ${USER_COLUMNS}`;

const userFrom = (row: UserRecord | undefined): UserRecord | null =>
  row
    ? {
        ...row,
        createdAt: dateFrom(row.createdAt),
        deletionScheduledAt: dateOrNullFrom(row.deletionScheduledAt),
      }
    : null;

const FIND_DUE_SQL = `SELECT id FROM users WHERE deletion_scheduled_at <= ?
  ORDER BY deletion_scheduled_at LIMIT ?`;
const DELETE_DUE_SQL = `DELETE FROM users WHERE id = ? AND deletion_scheduled_at <= ?
  RETURNING openid`;

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

    /** Ids of accounts whose deletion is due at `now`, the longest due first. */
    async findDueForDeletion(now: Date, limit: number): Promise<string[]> {
      const rows = await sql.query<{ id: string }>(FIND_DUE_SQL, [now, limit]);
      return rows.map((row) => row.id);
    },

    /**
     * Deletes the user if their deletion is due at `now`, resolving the openid the account had
     * (its WeChat records go too); null when it is not due (cancelled meanwhile) or already gone.
     */
    async deleteIfDue(id: string, now: Date): Promise<{ openid: string | null } | null> {
      const [row] = await sql.query<{ openid: string | null }>(DELETE_DUE_SQL, [id, now]);
      return row ?? null;
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
