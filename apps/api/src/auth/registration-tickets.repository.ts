import { randomUUID } from "node:crypto";
import type { Database } from "../db/client.js";
import { UNADOPTED_APPID } from "../users/wechat-identities.repository.js";

export interface RegistrationTicketRecord {
  id: string;
  /** The app whose login issued the ticket. */
  appid: string;
  openid: string;
  unionid: string | null;
  wechatSessionKeyId: string;
}

export interface NewRegistrationTicket {
  tokenHash: string;
  appid: string;
  openid: string;
  unionid: string | null;
  wechatSessionKeyId: string;
  expiresAt: Date;
}

export function createRegistrationTicketsRepository(db: Database) {
  return {
    async create(ticket: NewRegistrationTicket): Promise<void> {
      const now = new Date();
      await db
        .insertInto("registration_tickets")
        .values({
          id: randomUUID(),
          token_hash: ticket.tokenHash,
          appid: ticket.appid,
          openid: ticket.openid,
          unionid: ticket.unionid,
          wechat_session_key_id: ticket.wechatSessionKeyId,
          expires_at: ticket.expiresAt,
          created_at: now,
          updated_at: now,
        })
        .execute();
    },

    /**
     * Takes a lease on a usable ticket (unused, unexpired, not leased by another redemption) in
     * one conditional write, so of two concurrent redemptions exactly one gets it. Resolves null
     * when the ticket is unknown, used, expired or leased.
     */
    async claim(
      tokenHash: string,
      now: Date,
      leaseUntil: Date,
    ): Promise<RegistrationTicketRecord | null> {
      const row = await db
        .updateTable("registration_tickets")
        .set({ claimed_until: leaseUntil, updated_at: new Date() })
        .where("token_hash", "=", tokenHash)
        .where("used_at", "is", null)
        .where("expires_at", ">", now)
        .where((eb) => eb.or([eb("claimed_until", "is", null), eb("claimed_until", "<=", now)]))
        .returning([
          "id",
          "appid",
          "openid",
          "unionid",
          "wechat_session_key_id as wechatSessionKeyId",
        ])
        .executeTakeFirst();
      return row ?? null;
    },

    /** Whether the ticket is known, unused and unexpired (a lease does not matter here). */
    async isUsable(tokenHash: string, now: Date): Promise<boolean> {
      const row = await db
        .selectFrom("registration_tickets")
        .select("id")
        .where("token_hash", "=", tokenHash)
        .where("used_at", "is", null)
        .where("expires_at", ">", now)
        .executeTakeFirst();
      return row !== undefined;
    },

    /**
     * Gives a claimed ticket back after a failed redemption, so the user can try again. Only the
     * lease taken until `leaseUntil` is given back: a late release (one retried after its lease
     * ran out) must not end the lease of a redemption that claimed the ticket since.
     */
    async release(id: string, leaseUntil: Date): Promise<void> {
      await db
        .updateTable("registration_tickets")
        .set({ claimed_until: null, updated_at: new Date() })
        .where("id", "=", id)
        .where("used_at", "is", null)
        .where("claimed_until", "=", leaseUntil)
        .execute();
    },

    /** Resolves false when the ticket was already used (it then must not be used again). */
    async markUsed(id: string, now: Date): Promise<boolean> {
      const { numUpdatedRows } = await db
        .updateTable("registration_tickets")
        .set({ used_at: now, claimed_until: null, updated_at: new Date() })
        .where("id", "=", id)
        .where("used_at", "is", null)
        .executeTakeFirst();
      return numUpdatedRows === 1n;
    },

    /** Housekeeping: tickets past their expiry are useless. */
    async deleteExpired(now: Date): Promise<number> {
      const { numDeletedRows } = await db
        .deleteFrom("registration_tickets")
        .where("expires_at", "<=", now)
        .executeTakeFirst();
      return Number(numDeletedRows);
    },

    /** The account's deletion: every ticket one of its identities was given. */
    async deleteFor(appid: string, openid: string): Promise<number> {
      const { numDeletedRows } = await db
        .deleteFrom("registration_tickets")
        .where("appid", "=", appid)
        .where("openid", "=", openid)
        .executeTakeFirst();
      return Number(numDeletedRows);
    },

    /** Start-up: tickets from before several apps become `appid`'s (see wechat_identities). */
    async adoptUnadopted(appid: string): Promise<number> {
      const { numUpdatedRows } = await db
        .updateTable("registration_tickets")
        .set({ appid, updated_at: new Date() })
        .where("appid", "=", UNADOPTED_APPID)
        .executeTakeFirst();
      return Number(numUpdatedRows);
    },
  };
}

export type RegistrationTicketsRepository = ReturnType<typeof createRegistrationTicketsRepository>;
