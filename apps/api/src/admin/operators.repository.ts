import { randomUUID } from "node:crypto";
import type { OperatorRole } from "@wxauth/contracts/admin";
import type { Database } from "../db/client.js";
import { timeOrderedId } from "../db/time-ordered-id.js";

/** What a live operator session was last seen, and signed in, after (operators.service.ts). */
export interface LiveSessionCutoffs {
  seenAfter: Date;
  signedInAfter: Date;
}

export interface OperatorRecord {
  id: string;
  name: string;
  role: OperatorRole;
  passwordHash: string;
  passwordChangeRequired: boolean;
}

/** A live operator session and who holds it. */
export interface OperatorSessionRecord {
  sessionId: string;
  operator: Omit<OperatorRecord, "passwordHash">;
}

const OPERATOR_COLUMNS = [
  "id",
  "name",
  "role",
  "password_hash as passwordHash",
  "password_change_required as passwordChangeRequired",
] as const;

const asRecord = <T extends { role: string }>(row: T) => ({
  ...row,
  role: row.role as OperatorRole,
});

/** Operators (the console's people) and their cookie sessions. */
export function createOperatorsRepository(db: Database) {
  return {
    async findByName(name: string): Promise<OperatorRecord | null> {
      const row = await db
        .selectFrom("operators")
        .select(OPERATOR_COLUMNS)
        .where("name", "=", name)
        .executeTakeFirst();
      return row ? asRecord(row) : null;
    },

    async findById(id: string): Promise<OperatorRecord | null> {
      const row = await db
        .selectFrom("operators")
        .select(OPERATOR_COLUMNS)
        .where("id", "=", id)
        .executeTakeFirst();
      return row ? asRecord(row) : null;
    },

    /** A new operator; a taken name fails with the unique violation. */
    async create(operator: Omit<OperatorRecord, "id">): Promise<OperatorRecord> {
      const now = new Date();
      const row = await db
        .insertInto("operators")
        .values({
          id: randomUUID(),
          name: operator.name,
          role: operator.role,
          password_hash: operator.passwordHash,
          password_change_required: operator.passwordChangeRequired,
          created_at: now,
          updated_at: now,
        })
        .returning(OPERATOR_COLUMNS)
        .executeTakeFirstOrThrow();
      return asRecord(row);
    },

    async setPassword(
      id: string,
      passwordHash: string,
      passwordChangeRequired: boolean,
      role?: OperatorRole,
    ): Promise<void> {
      await db
        .updateTable("operators")
        .set({
          password_hash: passwordHash,
          password_change_required: passwordChangeRequired,
          ...(role ? { role } : {}),
          updated_at: new Date(),
        })
        .where("id", "=", id)
        .execute();
    },

    async createSession(operatorId: string, tokenHash: string, now: Date): Promise<string> {
      const id = timeOrderedId(now.getTime());
      await db
        .insertInto("operator_sessions")
        .values({
          id,
          operator_id: operatorId,
          token_hash: tokenHash,
          last_seen_at: now,
          created_at: now,
          updated_at: now,
        })
        .execute();
      return id;
    },

    /**
     * The session of `tokenHash` if it is live (`live`: seen recently enough, signed in recently
     * enough), touched to `now` in the same statement: checking and extending the idle timeout is
     * one atomic write, on any instance.
     */
    async touchSession(
      tokenHash: string,
      now: Date,
      live: LiveSessionCutoffs,
    ): Promise<OperatorSessionRecord | null> {
      const row = await db
        .updateTable("operator_sessions as s")
        .from("operators as o")
        .set({ last_seen_at: now, updated_at: now })
        .whereRef("o.id", "=", "s.operator_id")
        .where("s.token_hash", "=", tokenHash)
        .where("s.last_seen_at", ">", live.seenAfter)
        .where("s.created_at", ">", live.signedInAfter)
        .returning([
          "s.id as sessionId",
          "o.id",
          "o.name",
          "o.role",
          "o.password_change_required as passwordChangeRequired",
        ])
        .executeTakeFirst();
      if (!row) return null;
      const { sessionId, ...operator } = row;
      return { sessionId, operator: asRecord(operator) };
    },

    async deleteSession(sessionId: string): Promise<void> {
      await db.deleteFrom("operator_sessions").where("id", "=", sessionId).execute();
    },

    /** A password change: the operator's other browsers are signed out. */
    async deleteSessionsExcept(operatorId: string, keepSessionId: string | null): Promise<void> {
      let query = db.deleteFrom("operator_sessions").where("operator_id", "=", operatorId);
      if (keepSessionId) query = query.where("id", "!=", keepSessionId);
      await query.execute();
    },

    /** Housekeeping: deletes the sessions that have ended (idle too long, or signed in too long ago). */
    async deleteEndedSessions(live: LiveSessionCutoffs): Promise<number> {
      const { numDeletedRows } = await db
        .deleteFrom("operator_sessions")
        .where((eb) =>
          eb.or([
            eb("last_seen_at", "<=", live.seenAfter),
            eb("created_at", "<=", live.signedInAfter),
          ]),
        )
        .executeTakeFirst();
      return Number(numDeletedRows);
    },
  };
}

export type OperatorsRepository = ReturnType<typeof createOperatorsRepository>;
