import type { AuditAction } from "@wxauth/contracts/admin";
import type { Database } from "../db/client.js";
import { timeOrderedId } from "../db/time-ordered-id.js";

export type AuditDetails = Record<string, string | number | boolean | null>;

export interface NewAuditEntry {
  operator: string;
  action: AuditAction;
  target: string | null;
  address: string;
  details: AuditDetails;
  at: Date;
}

export interface AuditEntryRecord extends NewAuditEntry {
  id: string;
}

/** The audit log: one row per operator action, never updated or deleted. */
export function createAuditRepository(db: Database) {
  return {
    async insert(entry: NewAuditEntry): Promise<void> {
      await db
        .insertInto("audit_entries")
        .values({
          id: timeOrderedId(entry.at.getTime()),
          operator: entry.operator,
          action: entry.action,
          target: entry.target,
          address: entry.address,
          details: JSON.stringify(entry.details),
          created_at: entry.at,
          updated_at: entry.at,
        })
        .execute();
    },

    /**
     * Newest first, `limit` entries before the entry `before` (an id: ids are UUIDv7, ordered by
     * time, so the id alone is the cursor).
     */
    async list(before: string | undefined, limit: number): Promise<AuditEntryRecord[]> {
      let query = db
        .selectFrom("audit_entries")
        .select(["id", "operator", "action", "target", "address", "details", "created_at as at"])
        .orderBy("id", "desc")
        .limit(limit);
      if (before) query = query.where("id", "<", before);
      const rows = await query.execute();
      return rows.map((row) => ({
        ...row,
        action: row.action as AuditAction,
        details: row.details as AuditDetails,
      }));
    },
  };
}

export type AuditRepository = ReturnType<typeof createAuditRepository>;
