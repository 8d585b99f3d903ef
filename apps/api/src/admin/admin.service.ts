import { maskPhone, normalizePhone } from "@wxauth/contracts";
import {
  ADMIN_USERS_PAGE_SIZE,
  type AdminApp,
  type AdminUserDetail,
  type AdminUserPage,
  type AdminUserSummary,
  type AuditAction,
  type AuditPage,
  type Ban,
  type BanUserRequest,
  type RevealedPhone,
  type ScheduledDeletionList,
  type Spend,
  type UserStatus,
} from "@wxauth/contracts/admin";
import type { Clock } from "../clock.js";
import type { DataAccess, Repositories } from "../db/data-access.js";
import { AppError } from "../errors.js";
import type { LogSecurityEvent } from "../security-events/security-events.js";
import { banInForce } from "../users/bans.js";
import type { WechatApps } from "../wechat/apps.js";
import type { AdminUserRecord, UserCursor, UserSearch } from "./admin-users.repository.js";
import type { AuditDetails } from "./audit.repository.js";

/** How many audit entries a page holds. */
export const AUDIT_PAGE_SIZE = 50;
/** How many of a user's security events the detail shows, newest first. */
const USER_EVENTS_SHOWN = 100;
/** Spend is counted per day in China's time zone, the one WeChat and Tencent Cloud bill in. */
export const SPEND_TIME_ZONE = "Asia/Shanghai";

/** Who acts, from where: the signed-in operator and the request's address. */
export interface Actor {
  name: string;
  address: string;
  requestId: string;
}

export interface AdminServiceDeps {
  data: DataAccess;
  clock: Clock;
  logSecurityEvent: LogSecurityEvent;
  prices: { phoneLookupCny: number; smsCny: number };
  /** The configured mini programs, for their names; a user's apps are those they have an identity in. */
  apps: Pick<WechatApps, "nameOf">;
}

const userTarget = (userId: string) => `user:${userId}`;

/** The search box's text, told apart: a phone's last 4 digits, a full phone, or an id of some kind. */
export function userSearchOf(query: string | undefined): UserSearch {
  const text = query?.trim() ?? "";
  if (text === "") return { kind: "all" };
  if (/^\d{4}$/.test(text)) return { kind: "phoneLast4", digits: text };
  const e164 = /^\+?\d[\d\s-]{6,}$/.test(text) ? normalizePhone(text) : undefined;
  if (e164) return { kind: "phone", e164 };
  return { kind: "key", value: text };
}

function encodeCursor(user: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify([user.createdAt.toISOString(), user.id])).toString("base64url");
}

function decodeCursor(cursor: string): UserCursor {
  try {
    const [createdAt, id] = JSON.parse(
      Buffer.from(cursor, "base64url").toString("utf8"),
    ) as unknown[];
    if (
      typeof createdAt === "string" &&
      typeof id === "string" &&
      !Number.isNaN(Date.parse(createdAt))
    ) {
      return { createdAt: new Date(createdAt), id };
    }
  } catch {
    // Answered below.
  }
  throw new AppError("VALIDATION_FAILED", "cursor: not a cursor this API gave out");
}

/** The day `at` falls on in Asia/Shanghai, `2026-12-07`. */
function shanghaiDate(at: number): string {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat("en-CA", { timeZone: SPEND_TIME_ZONE }).format(at);
}

/**
 * What operators do to users, and what they read: search, a user's record, bans, signing
 * sessions out, revealing a phone, scheduled deletions, spend and the audit log. Every action
 * that changes something writes its audit entry in the same transaction as the change.
 */
export function createAdminService(deps: AdminServiceDeps) {
  const { data, clock, logSecurityEvent } = deps;

  const audit = (
    repositories: Pick<Repositories, "audit">,
    actor: Actor,
    action: AuditAction,
    target: string | null,
    details: AuditDetails = {},
  ) =>
    repositories.audit.insert({
      operator: actor.name,
      action,
      target,
      address: actor.address,
      details,
      at: new Date(clock.now()),
    });

  function statusOf(user: AdminUserRecord, now: number): UserStatus {
    if (banInForce(user, now)) return "banned";
    return user.deletionScheduledAt ? "deletion_scheduled" : "active";
  }

  // An app no longer configured still shows, under its appid.
  const appOf = (appid: string): AdminApp => ({ appid, name: deps.apps.nameOf(appid) ?? appid });
  const appsOf = (user: AdminUserRecord): AdminApp[] => (user.appids ?? []).map(appOf);

  function summaryOf(user: AdminUserRecord, now: number): AdminUserSummary {
    return {
      id: user.id,
      phone: user.phone === null ? null : maskPhone(user.phone),
      nickname: user.nickname,
      apps: appsOf(user),
      createdAt: user.createdAt.toISOString(),
      lastSignInAt: user.lastSignInAt?.toISOString() ?? null,
      status: statusOf(user, now),
    };
  }

  function banOf(user: AdminUserRecord, now: number): Ban | null {
    if (!banInForce(user, now) || !user.bannedAt) return null;
    return {
      reason: user.banReason ?? "",
      until: user.bannedUntil?.toISOString() ?? null,
      bannedAt: user.bannedAt.toISOString(),
      by: user.bannedBy ?? "",
    };
  }

  async function existingUser(userId: string): Promise<AdminUserRecord> {
    const user = await data.adminUsers.findById(userId);
    if (!user) throw new AppError("NOT_FOUND", "No user has this id.");
    return user;
  }

  return {
    /** A record of an operator's own action: signing in or out, a password change. */
    recordOwnAction: (actor: Actor, action: AuditAction) => audit(data, actor, action, null),

    async searchUsers(
      query: string | undefined,
      cursor: string | undefined,
    ): Promise<AdminUserPage> {
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      const found = await data.adminUsers.search(
        userSearchOf(query),
        after,
        ADMIN_USERS_PAGE_SIZE + 1,
      );
      const page = found.slice(0, ADMIN_USERS_PAGE_SIZE);
      const last = page.at(-1);
      const now = clock.now();
      return {
        users: page.map((user) => summaryOf(user, now)),
        nextCursor: found.length > ADMIN_USERS_PAGE_SIZE && last ? encodeCursor(last) : null,
      };
    },

    async getUser(userId: string): Promise<AdminUserDetail> {
      const user = await existingUser(userId);
      const now = clock.now();
      const [identities, sessions, events] = await Promise.all([
        data.wechatIdentities.listForUser(userId),
        data.sessions.listActive(userId, new Date(now)),
        data.securityEvents.listForUser(userId, USER_EVENTS_SHOWN),
      ]);
      return {
        user: {
          ...summaryOf(user, now),
          avatarUrl: user.avatarUrl,
          unionid: user.unionid,
        },
        identities: identities.map((identity) => ({
          ...appOf(identity.appid),
          openid: identity.openid,
          createdAt: identity.createdAt.toISOString(),
        })),
        sessions: sessions.map((session) => ({
          id: session.id,
          app: appOf(session.appid),
          device: session.device,
          createdAt: session.createdAt.toISOString(),
          lastUsedAt: session.lastUsedAt.toISOString(),
        })),
        events: events.map((event) => ({
          id: event.id,
          type: event.type,
          at: event.at.toISOString(),
          appid: event.appid,
          details: { ...event.details, ...(event.sessionId ? { sessionId: event.sessionId } : {}) },
        })),
        deletion: user.deletionScheduledAt
          ? { scheduledAt: user.deletionScheduledAt.toISOString() }
          : null,
        ban: banOf(user, now),
      };
    },

    async revealPhone(actor: Actor, userId: string): Promise<RevealedPhone> {
      const user = await existingUser(userId);
      await audit(data, actor, "user_phone_revealed", userTarget(userId));
      return { phone: user.phone };
    },

    /**
     * Bans the user at once: the ban, the revocation of every session, the audit entry and the
     * security event commit together. Every request of the user answers ACCOUNT_DISABLED from
     * the next one on, on every instance (sessions.authenticate reads the ban with the session).
     */
    async ban(actor: Actor, userId: string, request: BanUserRequest): Promise<Ban> {
      const now = clock.now();
      const until = request.until === undefined ? null : new Date(request.until);
      if (until && until.getTime() <= now) {
        throw new AppError("VALIDATION_FAILED", "until: must be in the future");
      }
      const ban = { reason: request.reason, until, bannedAt: new Date(now), by: actor.name };
      await data.transaction(async (repositories) => {
        if (!(await repositories.users.ban(userId, ban))) {
          throw new AppError("NOT_FOUND", "No user has this id.");
        }
        const revoked = await repositories.sessions.revokeAllForUser(userId, "ban", ban.bannedAt);
        const details = { reason: request.reason, until: until?.toISOString() ?? null };
        await audit(repositories, actor, "user_banned", userTarget(userId), details);
        await logSecurityEvent(
          "account_banned",
          {
            userId,
            requestId: actor.requestId,
            details: { until: details.until, sessionsRevoked: revoked },
          },
          repositories,
        );
      });
      return {
        reason: ban.reason,
        until: until?.toISOString() ?? null,
        bannedAt: ban.bannedAt.toISOString(),
        by: ban.by,
      };
    },

    async unban(actor: Actor, userId: string): Promise<void> {
      await existingUser(userId);
      await data.transaction(async (repositories) => {
        const lifted = await repositories.users.unban(userId);
        await audit(repositories, actor, "user_unbanned", userTarget(userId), { lifted });
        if (lifted) {
          await logSecurityEvent(
            "account_unbanned",
            { userId, requestId: actor.requestId },
            repositories,
          );
        }
      });
    },

    async revokeSession(actor: Actor, userId: string, sessionId: string): Promise<void> {
      await data.transaction(async (repositories) => {
        const now = new Date(clock.now());
        if (!(await repositories.sessions.revokeForUser(sessionId, userId, "operator", now))) {
          throw new AppError("NOT_FOUND", "The user has no session with this id.");
        }
        await audit(repositories, actor, "user_session_revoked", `session:${sessionId}`, {
          userId,
        });
        await logSecurityEvent(
          "session_revoked",
          { userId, sessionId, requestId: actor.requestId, details: { by: "operator" } },
          repositories,
        );
      });
    },

    async revokeAllSessions(actor: Actor, userId: string): Promise<void> {
      await existingUser(userId);
      await data.transaction(async (repositories) => {
        const now = new Date(clock.now());
        const revoked = await repositories.sessions.revokeAllForUser(userId, "operator", now);
        await audit(repositories, actor, "user_sessions_revoked_all", userTarget(userId), {
          revoked,
        });
        await logSecurityEvent(
          "sessions_revoked_all",
          { userId, requestId: actor.requestId, details: { by: "operator" } },
          repositories,
        );
      });
    },

    async listScheduledDeletions(): Promise<ScheduledDeletionList> {
      const users = await data.adminUsers.listScheduledDeletions();
      return {
        deletions: users.map((user) => ({
          userId: user.id,
          phone: user.phone === null ? null : maskPhone(user.phone),
          nickname: user.nickname,
          scheduledAt: (user.deletionScheduledAt ?? user.createdAt).toISOString(),
        })),
      };
    },

    /**
     * Successful phone lookups (`phone_number_fetched`) and SMS the provider accepted
     * (`sms_sent`) per day in Asia/Shanghai, the last `days` days with today, oldest first.
     */
    async spend(days: number): Promise<Spend> {
      const now = clock.now();
      const dates = Array.from({ length: days }, (_, index) =>
        shanghaiDate(now - (days - 1 - index) * 86_400_000),
      );
      // Shanghai keeps +08:00 all year (no daylight saving).
      const since = new Date(`${dates[0]}T00:00:00+08:00`);
      const counts = await data.securityEvents.countPerDay(
        ["phone_number_fetched", "sms_sent"],
        since,
        SPEND_TIME_ZONE,
      );
      const countOf = (date: string, type: string) =>
        counts.find((row) => row.date === date && row.type === type)?.count ?? 0;
      return {
        days: dates.map((date) => ({
          date,
          phoneLookups: countOf(date, "phone_number_fetched"),
          smsSent: countOf(date, "sms_sent"),
        })),
        prices: deps.prices,
      };
    },

    async listAudit(cursor: string | undefined): Promise<AuditPage> {
      const found = await data.audit.list(cursor, AUDIT_PAGE_SIZE + 1);
      const page = found.slice(0, AUDIT_PAGE_SIZE);
      return {
        entries: page.map((entry) => ({
          id: entry.id,
          operator: entry.operator,
          action: entry.action,
          target: entry.target,
          at: entry.at.toISOString(),
          address: entry.address,
          details: entry.details,
        })),
        nextCursor: found.length > AUDIT_PAGE_SIZE ? (page.at(-1)?.id ?? null) : null,
      };
    },
  };
}

export type AdminService = ReturnType<typeof createAdminService>;
