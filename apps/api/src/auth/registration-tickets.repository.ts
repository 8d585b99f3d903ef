import { randomUUID } from "node:crypto";
import type { Sql } from "../db/client.js";

export interface RegistrationTicketRecord {
  id: string;
  openid: string;
  unionid: string | null;
  wechatSessionKeyId: string;
}

export interface NewRegistrationTicket {
  tokenHash: string;
  openid: string;
  unionid: string | null;
  wechatSessionKeyId: string;
  expiresAt: Date;
}

const INSERT_SQL = `INSERT INTO registration_tickets
  (id, token_hash, openid, unionid, wechat_session_key_id, expires_at, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;
const CLAIM_SQL = `UPDATE registration_tickets SET claimed_until = ?, updated_at = ?
  WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
    AND (claimed_until IS NULL OR claimed_until <= ?)
  RETURNING id, openid, unionid, wechat_session_key_id AS "wechatSessionKeyId"`;
const FIND_USABLE_SQL = `SELECT id FROM registration_tickets
  WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`;
const RELEASE_SQL = `UPDATE registration_tickets SET claimed_until = NULL, updated_at = ?
  WHERE id = ? AND used_at IS NULL AND claimed_until = ?`;
const MARK_USED_SQL = `UPDATE registration_tickets SET used_at = ?, claimed_until = NULL,
  updated_at = ? WHERE id = ? AND used_at IS NULL`;
const DELETE_EXPIRED_SQL = "DELETE FROM registration_tickets WHERE expires_at <= ?";
const DELETE_FOR_OPENID_SQL = "DELETE FROM registration_tickets WHERE openid = ?";

export function createRegistrationTicketsRepository(sql: Sql) {
  return {
    async create(ticket: NewRegistrationTicket): Promise<void> {
      const now = new Date();
      await sql.execute(INSERT_SQL, [
        randomUUID(),
        ticket.tokenHash,
        ticket.openid,
        ticket.unionid,
        ticket.wechatSessionKeyId,
        ticket.expiresAt,
        now,
        now,
      ]);
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
      const [row] = await sql.query<RegistrationTicketRecord>(CLAIM_SQL, [
        leaseUntil,
        new Date(),
        tokenHash,
        now,
        now,
      ]);
      return row ?? null;
    },

    /** Whether the ticket is known, unused and unexpired (a lease does not matter here). */
    async isUsable(tokenHash: string, now: Date): Promise<boolean> {
      const rows = await sql.query<{ id: string }>(FIND_USABLE_SQL, [tokenHash, now]);
      return rows.length > 0;
    },

    /**
     * Gives a claimed ticket back after a failed redemption, so the user can try again. Only the
     * lease taken until `leaseUntil` is given back: a late release (one retried after its lease
     * ran out) must not end the lease of a redemption that claimed the ticket since.
     */
    async release(id: string, leaseUntil: Date): Promise<void> {
      await sql.execute(RELEASE_SQL, [new Date(), id, leaseUntil]);
    },

    /** Resolves false when the ticket was already used (it then must not be used again). */
    async markUsed(id: string, now: Date): Promise<boolean> {
      return (await sql.execute(MARK_USED_SQL, [now, new Date(), id])) === 1;
    },

    /** Housekeeping: tickets past their expiry are useless. */
    deleteExpired: (now: Date): Promise<number> => sql.execute(DELETE_EXPIRED_SQL, [now]),

    /** The account's deletion: every ticket the WeChat user was given. */
    deleteForOpenid: (openid: string): Promise<number> =>
      sql.execute(DELETE_FOR_OPENID_SQL, [openid]),
  };
}

export type RegistrationTicketsRepository = ReturnType<typeof createRegistrationTicketsRepository>;
