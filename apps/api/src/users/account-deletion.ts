import type { DeletionScheduled, User } from "@wxauth/contracts";
import type { Clock } from "../clock.js";
import type { DataAccess, Repositories } from "../db/data-access.js";
import type { LogSecurityEvent } from "../security-events/security-events.js";
import { existingAccount, toUserBody } from "./user-accounts.js";

/** Accounts purged per housekeeping run at most; the rest wait for the next run. */
const PURGE_BATCH = 100;

export interface AccountDeletionDeps {
  data: DataAccess;
  clock: Clock;
  logSecurityEvent: LogSecurityEvent;
  /** A requested deletion waits this long; 0 deletes at once. */
  coolingOffS: number;
}

/**
 * Account deletion as the user asks for it: scheduled after a cooling-off period during which
 * they may sign in again and cancel, then purged by housekeeping. The purge deletes everything
 * personal in one transaction: the user (phone, unionid, nickname), their WeChat identities
 * (an openid per app), sessions and refresh tokens, avatars, and the WeChat session_key kept for
 * each identity and its registration tickets. The same WeChat user and phone can then register again, as a new account.
 */
export function createAccountDeletion(deps: AccountDeletionDeps) {
  const { data, clock, logSecurityEvent } = deps;

  /** What an identity leaves besides itself: its registration tickets and stored session_key. */
  async function forgetWechatRecordsOf(
    { registrationTickets, wechatSessionKeys }: Repositories,
    { appid, openid }: { appid: string; openid: string },
  ): Promise<void> {
    await registrationTickets.deleteFor(appid, openid);
    await wechatSessionKeys.deleteFor(appid, openid);
  }

  /**
   * Purges the account if its deletion is due at `now`. Safe with several instances: the purge
   * starts by locking the user row on that condition, so of two purges (or a purge and a
   * cancellation) racing for one account exactly one wins, and a loser changes nothing.
   */
  async function purge(userId: string, now: Date, requestId: string | null): Promise<boolean> {
    const purged = await data.transaction(async (repositories) => {
      // Locked first, so no identity is added between reading them and deleting the account.
      if (!(await repositories.users.lockIfDue(userId, now))) return false;
      const identities = await repositories.wechatIdentities.listForUser(userId);
      await repositories.sessions.deleteForUser(userId);
      await repositories.avatars.deleteForUserExcept(userId, undefined);
      for (const identity of identities) await forgetWechatRecordsOf(repositories, identity);
      // The account's security events stay (180 days), keeping only its id.
      await repositories.securityEvents.forgetDetailsOf(userId);
      // Its identities go with it (ON DELETE CASCADE).
      if (!(await repositories.users.deleteIfDue(userId, now))) return false;
      await logSecurityEvent("account_deleted", { userId, requestId }, repositories);
      return true;
    });
    return purged;
  }

  /**
   * Schedules the account's deletion after the cooling-off period (a repeated request keeps the
   * first date) and signs every session out, in the caller's transaction. Resolves the due date.
   */
  async function schedule(
    { users, sessions }: Pick<Repositories, "users" | "sessions">,
    userId: string,
    now: Date,
  ): Promise<Date> {
    const user = existingAccount(await users.findById(userId));
    const due = user.deletionScheduledAt ?? new Date(now.getTime() + deps.coolingOffS * 1000);
    if (user.deletionScheduledAt === null) {
      await users.update(userId, { deletionScheduledAt: due });
    }
    await sessions.revokeAllForUser(userId, "deletion", now);
    return due;
  }

  return {
    /**
     * POST /api/me/deletion: schedules the deletion (a repeated request keeps the first date) and
     * signs every session out. With no cooling-off period the account is purged at once.
     */
    async request(userId: string, requestId: string): Promise<DeletionScheduled> {
      const now = new Date(clock.now());
      const dueAt = await data.transaction((repositories) => schedule(repositories, userId, now));
      await logSecurityEvent("deletion_requested", { userId, requestId });
      if (dueAt <= now) await purge(userId, now, requestId);
      return { deletionScheduledAt: dueAt.toISOString() };
    },

    /**
     * WeChat's user_authorization_cancellation: the user cancelled their authorization of the mini
     * program `appid`, and WeChat asks for their data to be deleted. That identity goes, with its
     * sessions, its stored session_key and registration tickets. An account left without any
     * identity is scheduled for deletion as if its owner had asked (the usual cooling-off: signing
     * in again through WeChat and the phone finds it, and the profile offers to cancel). One
     * transaction, so a retried push after a failure finds the identity still there; a replay once
     * it is gone changes nothing. Resolves what happened, or null when the identity was unknown.
     */
    async cancelWechatAuthorization(
      identity: { appid: string; openid: string },
      requestId: string,
    ): Promise<{ userId: string; deletionScheduledAt: Date | null } | null> {
      const { appid, openid } = identity;
      const now = new Date(clock.now());
      const outcome = await data.transaction(async (repositories) => {
        const user = await repositories.wechatIdentities.findUser(appid, openid);
        // Two cancellations of one account's identities at once: the second waits here and then
        // counts what the first left, so the last identity's removal always schedules the deletion.
        if (!user || !(await repositories.users.lock(user.id))) return null;
        await repositories.wechatIdentities.remove(appid, openid);
        await repositories.sessions.revokeAllForUser(user.id, "wechat_cancellation", now, {
          appid,
        });
        await forgetWechatRecordsOf(repositories, identity);
        const left = await repositories.wechatIdentities.countForUser(user.id);
        const due = left === 0 ? await schedule(repositories, user.id, now) : null;
        return { userId: user.id, deletionScheduledAt: due };
      });
      if (outcome?.deletionScheduledAt) {
        await logSecurityEvent("deletion_requested", {
          userId: outcome.userId,
          requestId,
          details: { by: "wechat_authorization_cancellation" },
        });
        if (outcome.deletionScheduledAt <= now) await purge(outcome.userId, now, requestId);
      }
      return outcome;
    },

    /** DELETE /api/me/deletion: the account stays. Cancelling when nothing is scheduled is a no-op. */
    async cancel(userId: string, requestId: string): Promise<User> {
      const { user, cancelled } = await data.transaction(async ({ users }) => {
        const current = existingAccount(await users.findById(userId));
        if (current.deletionScheduledAt === null) return { user: current, cancelled: false };
        const updated = existingAccount(await users.update(userId, { deletionScheduledAt: null }));
        return { user: updated, cancelled: true };
      });
      if (cancelled) await logSecurityEvent("deletion_cancelled", { userId, requestId });
      return toUserBody(user);
    },

    /** Housekeeping: purges the accounts whose cooling-off period has passed; resolves how many. */
    async purgeDue(): Promise<number> {
      const now = new Date(clock.now());
      let purged = 0;
      for (const userId of await data.users.findDueForDeletion(now, PURGE_BATCH)) {
        if (await purge(userId, now, null)) purged += 1;
      }
      return purged;
    },
  };
}

export type AccountDeletion = ReturnType<typeof createAccountDeletion>;
