import { sql } from "kysely";
import type { Database } from "../db/client.js";
import { timeOrderedId } from "../db/time-ordered-id.js";

/** The details a row keeps: ids and flags, never a phone, code or token. */
export type SecurityEventDetails = Record<string, string | number | boolean | null>;

export interface NewSecurityEvent {
  type: string;
  userId: string | null;
  sessionId: string | null;
  appid: string | null;
  requestId: string | null;
  details: SecurityEventDetails;
  at: Date;
}

export interface SecurityEventRecord {
  id: string;
  type: string;
  at: Date;
  sessionId: string | null;
  appid: string | null;
  details: SecurityEventDetails;
}

/** How many of each billed kind of event happened on one day in Asia/Shanghai (`2026-12-07`). */
export interface DailyCount {
  date: string;
  type: string;
  count: number;
}

/** The security_events table: the persisted copy of every security event the API logs. */
export function createSecurityEventsRepository(db: Database) {
  return {
    async insert(event: NewSecurityEvent): Promise<void> {
      await db
        .insertInto("security_events")
        .values({
          id: timeOrderedId(event.at.getTime()),
          type: event.type,
          user_id: event.userId,
          session_id: event.sessionId,
          appid: event.appid,
          request_id: event.requestId,
          details: JSON.stringify(event.details),
          created_at: event.at,
          updated_at: event.at,
        })
        .execute();
    },

    /** The user's newest events first, at most `limit`. */
    async listForUser(userId: string, limit: number): Promise<SecurityEventRecord[]> {
      const rows = await db
        .selectFrom("security_events")
        .select(["id", "type", "created_at as at", "session_id as sessionId", "appid", "details"])
        .where("user_id", "=", userId)
        .orderBy("created_at", "desc")
        .orderBy("id", "desc")
        .limit(limit)
        .execute();
      return rows.map((row) => ({ ...row, details: row.details as SecurityEventDetails }));
    },

    /** An account's purge: its events stay, with its id and nothing else from it. */
    async forgetDetailsOf(userId: string): Promise<void> {
      await db
        .updateTable("security_events")
        .set({ details: "{}", request_id: null, updated_at: new Date() })
        .where("user_id", "=", userId)
        .execute();
    },

    /** Housekeeping: events older than the retention period go; resolves how many. */
    async deleteOlderThan(before: Date): Promise<number> {
      const { numDeletedRows } = await db
        .deleteFrom("security_events")
        .where("created_at", "<", before)
        .executeTakeFirst();
      return Number(numDeletedRows);
    },

    /** Events of `types` since `since`, counted per day in `timeZone`. Days without any are absent. */
    async countPerDay(types: string[], since: Date, timeZone: string): Promise<DailyCount[]> {
      // A literal, not a parameter: the same expression must appear in SELECT and GROUP BY.
      const day = sql<string>`to_char(created_at at time zone ${sql.lit(timeZone)}, 'YYYY-MM-DD')`;
      const rows = await db
        .selectFrom("security_events")
        .select([day.as("date"), "type", (eb) => eb.fn.countAll<string>().as("count")])
        .where("type", "in", types)
        .where("created_at", ">=", since)
        .groupBy([day, "type"])
        .execute();
      return rows.map((row) => ({ date: row.date, type: row.type, count: Number(row.count) }));
    },
  };
}

export type SecurityEventsRepository = ReturnType<typeof createSecurityEventsRepository>;
