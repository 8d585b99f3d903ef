import { randomUUID } from "node:crypto";
import type { ExpressionBuilder } from "kysely";
import { jsonArrayFrom } from "kysely/helpers/postgres";
import type { Database } from "../db/client.js";
import type { DB } from "../db/types.js";

export interface UserRecord {
  id: string;
  phone: string | null;
  unionid: string | null;
  nickname: string | null;
  avatarUrl: string | null;
  createdAt: Date;
  /** When the deletion the user asked for is due; null when none is. */
  deletionScheduledAt: Date | null;
  /** Set while an operator's ban stands (see banInForce: a ban with an end lifts itself). */
  bannedAt: Date | null;
  bannedUntil: Date | null;
  /** When a risky avatar was removed after WeChat's content check; null since another was set. */
  avatarRemovedAt: Date | null;
}

/** An app the user has a WeChat identity in, and since when. */
export interface LinkedApp {
  appid: string;
  createdAt: Date;
}

/** A user and the apps they are linked to, oldest first: what a signed-in request knows of them. */
export interface AccountRecord extends UserRecord {
  apps: LinkedApp[];
}

/** An operator's ban, as it is written to the user's row. */
export interface NewBan {
  reason: string;
  until: Date | null;
  bannedAt: Date;
  by: string;
}

export interface NewUser {
  unionid?: string | null;
  phone?: string | null;
}

export type UserChanges = Partial<
  Pick<
    UserRecord,
    "phone" | "unionid" | "nickname" | "avatarUrl" | "deletionScheduledAt" | "avatarRemovedAt"
  >
>;

/** The columns of a UserRecord, under its field names. */
export const USER_COLUMNS = [
  "id",
  "phone",
  "unionid",
  "nickname",
  "avatar_url as avatarUrl",
  "created_at as createdAt",
  "deletion_scheduled_at as deletionScheduledAt",
  "banned_at as bannedAt",
  "banned_until as bannedUntil",
  "avatar_removed_at as avatarRemovedAt",
] as const;

/**
 * The apps of the user in `users`, oldest first, as one JSON column `apps` of the same statement;
 * accountOf reads it.
 */
export const linkedApps = (eb: ExpressionBuilder<DB, "users">) =>
  jsonArrayFrom(
    eb
      .selectFrom("wechat_identities")
      .select(["wechat_identities.appid", "wechat_identities.created_at as createdAt"])
      .whereRef("wechat_identities.user_id", "=", "users.id")
      .orderBy("wechat_identities.created_at")
      .orderBy("wechat_identities.appid"),
  ).as("apps");

/** The account in a row of USER_COLUMNS and linkedApps. */
export function accountOf(
  row: UserRecord & { apps: Array<{ appid: string; createdAt: Date | string }> },
): AccountRecord {
  // JSON carries the instants as text.
  const apps = row.apps.map(({ appid, createdAt }) => ({ appid, createdAt: new Date(createdAt) }));
  return { ...row, apps };
}

/** The ban columns of a user with no ban: what lifting one writes. */
const NO_BAN = { banned_at: null, banned_until: null, ban_reason: null, banned_by: null } as const;

export function createUsersRepository(db: Database) {
  const findBy =
    (column: "id" | "phone" | "unionid") =>
    async (value: string): Promise<UserRecord | null> =>
      (await db
        .selectFrom("users")
        .select(USER_COLUMNS)
        .where(column, "=", value)
        .executeTakeFirst()) ?? null;

  return {
    findById: findBy("id"),

    findByPhone: findBy("phone"),
    findByUnionid: findBy("unionid"),

    async create(user: NewUser): Promise<UserRecord> {
      const now = new Date();
      return db
        .insertInto("users")
        .values({
          id: randomUUID(),
          unionid: user.unionid ?? null,
          phone: user.phone ?? null,
          created_at: now,
          updated_at: now,
        })
        .returning(USER_COLUMNS)
        .executeTakeFirstOrThrow();
    },

    /** The user after the change; null when no user has the id. Undefined fields are left as they are. */
    async update(id: string, changes: UserChanges): Promise<UserRecord | null> {
      const row = await db
        .updateTable("users")
        .set((eb) => ({
          phone: changes.phone,
          unionid: changes.unionid,
          nickname: changes.nickname,
          avatar_url: changes.avatarUrl,
          // Another avatar ends the check of the one before: a late verdict of it changes nothing.
          // The same one again keeps its check.
          avatar_check_trace_id:
            changes.avatarUrl === undefined
              ? undefined
              : eb
                  .case()
                  .when("avatar_url", "is distinct from", changes.avatarUrl)
                  .then(null)
                  .else(eb.ref("avatar_check_trace_id"))
                  .end(),
          deletion_scheduled_at: changes.deletionScheduledAt,
          avatar_removed_at: changes.avatarRemovedAt,
          updated_at: new Date(),
        }))
        .where("id", "=", id)
        .returning(USER_COLUMNS)
        .executeTakeFirst();
      return row ?? null;
    },

    /**
     * Keeps the trace_id of WeChat's check of `avatarUrl`, set as a URL, while it is still the
     * user's avatar; false when it no longer is.
     */
    async setAvatarCheckTraceId(id: string, avatarUrl: string, traceId: string): Promise<boolean> {
      const { numUpdatedRows } = await db
        .updateTable("users")
        .set({ avatar_check_trace_id: traceId })
        .where("id", "=", id)
        .where("avatar_url", "=", avatarUrl)
        .executeTakeFirst();
      return numUpdatedRows > 0n;
    },

    /** The user whose avatar, set as a URL, is under the check `traceId`; null when none is. */
    async findByAvatarCheckTraceId(traceId: string): Promise<string | null> {
      const row = await db
        .selectFrom("users")
        .select("id")
        .where("avatar_check_trace_id", "=", traceId)
        .executeTakeFirst();
      return row?.id ?? null;
    },

    /**
     * Removes the avatar, set as a URL, that the check `traceId` found risky, if it is still the
     * user's; the user, or null when it is not (replaced since, or removed already).
     */
    async removeAvatarCheckedAs(traceId: string, now: Date): Promise<string | null> {
      const row = await db
        .updateTable("users")
        .set({
          avatar_url: null,
          avatar_check_trace_id: null,
          avatar_removed_at: now,
          updated_at: now,
        })
        .where("avatar_check_trace_id", "=", traceId)
        .returning("id")
        .executeTakeFirst();
      return row?.id ?? null;
    },

    /** Ids of accounts whose deletion is due at `now`, the longest due first. */
    async findDueForDeletion(now: Date, limit: number): Promise<string[]> {
      const rows = await db
        .selectFrom("users")
        .select("id")
        .where("deletion_scheduled_at", "<=", now)
        .orderBy("deletion_scheduled_at")
        .limit(limit)
        .execute();
      return rows.map((row) => row.id);
    },

    /** Bans the user (a second ban replaces the first); false when no user has the id. */
    async ban(id: string, ban: NewBan): Promise<boolean> {
      const { numUpdatedRows } = await db
        .updateTable("users")
        .set({
          banned_at: ban.bannedAt,
          banned_until: ban.until,
          ban_reason: ban.reason,
          banned_by: ban.by,
          updated_at: new Date(),
        })
        .where("id", "=", id)
        .executeTakeFirst();
      return numUpdatedRows > 0n;
    },

    /** Lifts the user's ban; resolves whether one was there (expired or not). */
    async unban(id: string): Promise<boolean> {
      const { numUpdatedRows } = await db
        .updateTable("users")
        .set({ ...NO_BAN, updated_at: new Date() })
        .where("id", "=", id)
        .where("banned_at", "is not", null)
        .executeTakeFirst();
      return numUpdatedRows > 0n;
    },

    /** Housekeeping: bans whose end has passed are cleared (they stopped counting already). */
    async clearBansEndedBefore(now: Date): Promise<number> {
      const { numUpdatedRows } = await db
        .updateTable("users")
        .set({ ...NO_BAN, updated_at: now })
        .where("banned_until", "<=", now)
        .executeTakeFirst();
      return Number(numUpdatedRows);
    },

    /**
     * Locks the user's row until the transaction ends, so that changes to the account (its
     * identities, its avatar) are decided one at a time, and always in one order: the user's row
     * first, then the rows that belong to it. Resolves false when the user is gone. Run it in a
     * transaction. FOR NO KEY UPDATE: a sign-in adding a session for the user does not wait.
     */
    async lock(id: string): Promise<boolean> {
      const row = await db
        .selectFrom("users")
        .select("id")
        .where("id", "=", id)
        .forNoKeyUpdate()
        .executeTakeFirst();
      return row !== undefined;
    },

    /**
     * Locks the user's row if their deletion is due at `now`, until the transaction ends: nothing
     * can then add to the account (an identity, a session) before it is deleted. Resolves false
     * when it is not due (cancelled meanwhile) or already gone. Run it in a transaction.
     */
    async lockIfDue(id: string, now: Date): Promise<boolean> {
      const row = await db
        .selectFrom("users")
        .select("id")
        .where("id", "=", id)
        .where("deletion_scheduled_at", "<=", now)
        .forUpdate()
        .executeTakeFirst();
      return row !== undefined;
    },

    /** Deletes the user if their deletion is due at `now`; false when it is not (or gone). */
    async deleteIfDue(id: string, now: Date): Promise<boolean> {
      const { numDeletedRows } = await db
        .deleteFrom("users")
        .where("id", "=", id)
        .where("deletion_scheduled_at", "<=", now)
        .executeTakeFirst();
      return numDeletedRows > 0n;
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
