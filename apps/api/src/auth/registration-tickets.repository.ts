import type { Database, DatabaseTransaction } from "../db/client.js";
import { isRecordNotFound } from "../db/errors.js";

export interface RegistrationTicketRecord {
  id: string;
  openid: string;
  unionid: string | null;
  wechatSessionId: string;
}

export interface NewRegistrationTicket {
  tokenHash: string;
  openid: string;
  unionid: string | null;
  wechatSessionId: string;
  expiresAt: Date;
}

const ticketColumns = { id: true, openid: true, unionid: true, wechatSessionId: true } as const;

export function createRegistrationTicketsRepository(db: Database | DatabaseTransaction) {
  return {
    async create(ticket: NewRegistrationTicket): Promise<void> {
      await db.registrationTicket.create({ data: ticket, select: { id: true } });
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
      try {
        return await db.registrationTicket.update({
          where: {
            tokenHash,
            usedAt: null,
            expiresAt: { gt: now },
            OR: [{ claimedUntil: null }, { claimedUntil: { lte: now } }],
          },
          data: { claimedUntil: leaseUntil },
          select: ticketColumns,
        });
      } catch (error) {
        if (isRecordNotFound(error)) return null;
        throw error;
      }
    },

    /**
     * Gives a claimed ticket back after a failed redemption, so the user can try again. Only the
     * lease taken until `leaseUntil` is given back: a late release (one retried after its lease
     * ran out) must not end the lease of a redemption that claimed the ticket since.
     */
    async release(id: string, leaseUntil: Date): Promise<void> {
      await db.registrationTicket.updateMany({
        where: { id, usedAt: null, claimedUntil: leaseUntil },
        data: { claimedUntil: null },
      });
    },

    /** Resolves false when the ticket was already used (it then must not be used again). */
    async markUsed(id: string, now: Date): Promise<boolean> {
      const { count } = await db.registrationTicket.updateMany({
        where: { id, usedAt: null },
        data: { usedAt: now, claimedUntil: null },
      });
      return count === 1;
    },

    /** Housekeeping: tickets past their expiry are useless. */
    async deleteExpired(now: Date): Promise<number> {
      const { count } = await db.registrationTicket.deleteMany({
        where: { expiresAt: { lte: now } },
      });
      return count;
    },
  };
}

export type RegistrationTicketsRepository = ReturnType<typeof createRegistrationTicketsRepository>;
