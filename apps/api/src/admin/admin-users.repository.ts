import { sql } from "kysely";
import type { Database } from "../db/client.js";

/** A user as the console reads it: everything but the avatar bytes and WeChat's secrets. */
export interface AdminUserRecord {
  id: string;
  phone: string | null;
  unionid: string | null;
  /** The apps the user has a WeChat identity in (wechat_identities). */
  appids: string[];
  nickname: string | null;
  avatarUrl: string | null;
  createdAt: Date;
  deletionScheduledAt: Date | null;
  bannedAt: Date | null;
  bannedUntil: Date | null;
  banReason: string | null;
  bannedBy: string | null;
  /** The last sign-in or refresh in any session. */
  lastSignInAt: Date | null;
}

/** What the console's search box asked for, told apart by the service. */
export type UserSearch =
  | { kind: "all" }
  | { kind: "phone"; e164: string }
  | { kind: "phoneLast4"; digits: string }
  /** A user id, a unionid or an openid: opaque strings, matched exactly. */
  | { kind: "key"; value: string };

/** Where a page of users newest first starts: after this user. */
export interface UserCursor {
  createdAt: Date;
  id: string;
}

/** The console's reads of users (the writes, bans included, are the users repository's). */
export function createAdminUsersRepository(db: Database) {
  const users = () =>
    db.selectFrom("users as u").select((eb) => [
      "u.id",
      "u.phone",
      "u.unionid",
      "u.nickname",
      "u.avatar_url as avatarUrl",
      "u.created_at as createdAt",
      "u.deletion_scheduled_at as deletionScheduledAt",
      "u.banned_at as bannedAt",
      "u.banned_until as bannedUntil",
      "u.ban_reason as banReason",
      "u.banned_by as bannedBy",
      eb
        .selectFrom("sessions as s")
        .select((inner) => inner.fn.max("s.last_used_at").as("lastUsed"))
        .whereRef("s.user_id", "=", "u.id")
        .as("lastSignInAt"),
      eb
        .selectFrom("wechat_identities as i")
        .select(
          sql<string[]>`coalesce(array_agg(distinct i.appid order by i.appid), '{}')`.as("appids"),
        )
        .whereRef("i.user_id", "=", "u.id")
        .$asScalar()
        .as("appids"),
    ]);

  return {
    /** Newest first, `limit` users after `after`. */
    async search(
      search: UserSearch,
      after: UserCursor | undefined,
      limit: number,
    ): Promise<AdminUserRecord[]> {
      let query = users().orderBy("u.created_at", "desc").orderBy("u.id", "desc").limit(limit);
      if (search.kind === "phone") query = query.where("u.phone", "=", search.e164);
      // Scans the phones: fine at a console's pace over this table's size; an index on
      // right(phone, 4) is the step if it ever is not.
      if (search.kind === "phoneLast4") query = query.where("u.phone", "like", `%${search.digits}`);
      if (search.kind === "key") {
        const { value } = search;
        query = query.where((eb) =>
          eb.or([
            eb("u.id", "=", value),
            eb("u.unionid", "=", value),
            eb.exists(
              eb
                .selectFrom("wechat_identities as i")
                .select("i.id")
                .whereRef("i.user_id", "=", "u.id")
                .where("i.openid", "=", value),
            ),
          ]),
        );
      }
      if (after) {
        query = query.where((eb) =>
          eb.or([
            eb("u.created_at", "<", after.createdAt),
            eb.and([eb("u.created_at", "=", after.createdAt), eb("u.id", "<", after.id)]),
          ]),
        );
      }
      return (await query.execute()).map(withDate);
    },

    async findById(id: string): Promise<AdminUserRecord | null> {
      const row = await users().where("u.id", "=", id).executeTakeFirst();
      return row ? withDate(row) : null;
    },

    /** Every scheduled deletion, soonest first. */
    async listScheduledDeletions(): Promise<AdminUserRecord[]> {
      const rows = await users()
        .where("u.deletion_scheduled_at", "is not", null)
        .orderBy("u.deletion_scheduled_at", "asc")
        .execute();
      return rows.map(withDate);
    },
  };
}

/** max() over timestamptz comes back as a Date from node-postgres, typed loosely by Kysely. */
function withDate<T extends { lastSignInAt: unknown }>(
  row: T,
): Omit<T, "lastSignInAt"> & { lastSignInAt: Date | null } {
  const value = row.lastSignInAt;
  return { ...row, lastSignInAt: value === null ? null : new Date(value as string | Date) };
}

export type AdminUsersRepository = ReturnType<typeof createAdminUsersRepository>;
