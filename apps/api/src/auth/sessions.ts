import type { Device, Session, TokenPair } from "@wxauth/contracts";
import type { Sealer } from "@wxauth/wechat";
import type { Clock } from "../clock.js";
import type { DataAccess } from "../db/data-access.js";
import { isForeignKeyViolation } from "../db/errors.js";
import { AppError } from "../errors.js";
import type { LogSecurityEvent } from "../security-events/security-events.js";
import { accountDisabled, banInForce } from "../users/bans.js";
import type { AccessTokenGrant, AccessTokens } from "./access-tokens.js";
import { hashOpaqueToken, newOpaqueToken } from "./opaque-tokens.js";
import type { RefreshTokenRecord } from "./sessions.repository.js";
import type { AccountRecord } from "../users/users.repository.js";
import type { WechatApps } from "../wechat/apps.js";
import type { WechatSessionKeyRecord } from "./wechat-session-keys.repository.js";

export interface SessionsOptions {
  data: Pick<DataAccess, "sessions" | "transaction">;
  /** The configured name of an app, for the list of sessions. */
  apps: Pick<WechatApps, "nameOf">;
  accessTokens: AccessTokens;
  /** Seals a successor refresh token for the grace window. */
  successorCipher: Sealer;
  clock: Clock;
  logSecurityEvent: LogSecurityEvent;
  refreshTokenTtlS: number;
  refreshReuseGraceS: number;
}

/** A new sign-in: its tokens, and the session they belong to. */
export interface IssuedSession {
  tokens: TokenPair;
  sessionId: string;
}

/**
 * Who a Bearer request comes from: a user, through one of their sessions that still stands, the
 * app (appid) that session signed in through, and the user's account as the request found it.
 */
export type SignedIn = AccessTokenGrant & { account: AccountRecord };

/**
 * Sessions: one per sign-in, with the refresh tokens it rotated through, that its user sees in
 * their list and can revoke. Issue one per sign-in, rotate its refresh token on refresh, revoke it on logout, on
 * reuse of a rotated token outside the grace window, or from the list. Access tokens name their
 * session (`sid`), and every Bearer request asks the database whether it still stands.
 */
export function createSessions(options: SessionsOptions) {
  const { data, accessTokens, successorCipher, clock, logSecurityEvent } = options;
  const refreshTtlMs = options.refreshTokenTtlS * 1000;
  const graceMs = options.refreshReuseGraceS * 1000;

  function pair(subject: AccessTokenGrant, refreshToken: string): TokenPair {
    const access = accessTokens.sign(subject);
    return { accessToken: access.token, refreshToken, expiresIn: access.expiresIn };
  }

  /** A rotated token came back: the same successor within the grace window, else revoke all. */
  async function answerRotated(
    record: RefreshTokenRecord,
    now: number,
    requestId: string,
  ): Promise<TokenPair> {
    const subject = {
      userId: record.session.userId,
      sessionId: record.sessionId,
      appid: record.session.appid,
    };
    const rotatedAt = record.rotatedAt?.getTime() ?? now;
    if (record.successorCiphertext && now - rotatedAt <= graceMs) {
      return pair(subject, successorCipher.open(record.successorCiphertext));
    }
    await data.sessions.revoke(record.sessionId, "reuse", new Date(now));
    await logSecurityEvent("refresh_reuse_detected", {
      userId: subject.userId,
      sessionId: subject.sessionId,
      requestId,
    });
    throw new AppError("REFRESH_TOKEN_REUSED");
  }

  return {
    /**
     * A new sign-in of the user through the app `appid`, from `device`. A sign-in with WeChat saves the session_key it came
     * with in the same transaction: one commit per sign-in. Resolves null when the account no
     * longer exists: its deletion came first.
     *
     * The session's foreign key to its user settles a race with the account's purge: the insert
     * fails once the user row is gone, and until it commits it holds the row, so a purge waits
     * and deletes the new session with the rest. The session comes first, so both take the user
     * row before the session_key's (no deadlock).
     */
    async issue(
      userId: string,
      appid: string,
      device: Device,
      wechatSessionKey?: WechatSessionKeyRecord,
    ): Promise<IssuedSession | null> {
      const refreshToken = newOpaqueToken();
      const first = {
        tokenHash: hashOpaqueToken(refreshToken),
        expiresAt: new Date(clock.now() + refreshTtlMs),
      };
      let sessionId: string;
      try {
        sessionId = await data.transaction(async ({ wechatSessionKeys, sessions }) => {
          const created = await sessions.create(userId, appid, device, first);
          if (wechatSessionKey) await wechatSessionKeys.save(wechatSessionKey);
          return created;
        });
      } catch (error) {
        if (isForeignKeyViolation(error)) return null;
        throw error;
      }
      return { tokens: pair({ userId, sessionId, appid }, refreshToken), sessionId };
    },

    async refresh(presented: string, requestId: string): Promise<TokenPair> {
      const tokenHash = hashOpaqueToken(presented);
      const record = await data.sessions.findTokenByHash(tokenHash);
      const now = clock.now();
      if (!record) throw new AppError("REFRESH_TOKEN_INVALID");
      // A banned user is told so, although the ban revoked the session too.
      if (banInForce(record.user, now)) throw accountDisabled();
      if (record.session.revokedAt !== null || record.expiresAt.getTime() <= now) {
        throw new AppError("REFRESH_TOKEN_INVALID");
      }
      if (record.rotatedAt !== null) return answerRotated(record, now, requestId);

      const successor = newOpaqueToken();
      const next = {
        tokenHash: hashOpaqueToken(successor),
        expiresAt: new Date(now + refreshTtlMs),
      };
      const sealedSuccessor = successorCipher.seal(successor);
      const won = await data.transaction(({ sessions }) =>
        sessions.rotate(record, next, new Date(now), sealedSuccessor),
      );
      if (won) {
        return pair(
          {
            userId: record.session.userId,
            sessionId: record.sessionId,
            appid: record.session.appid,
          },
          successor,
        );
      }

      // A concurrent refresh of the same token rotated it first: answer with its successor.
      const rotated = await data.sessions.findTokenByHash(tokenHash);
      if (!rotated || rotated.session.revokedAt !== null)
        throw new AppError("REFRESH_TOKEN_INVALID");
      return answerRotated(rotated, now, requestId);
    },

    /** Revokes the sign-in the token belongs to. Unknown tokens are ignored: logout is idempotent. */
    async logout(presented: string, requestId: string): Promise<void> {
      const record = await data.sessions.findTokenByHash(hashOpaqueToken(presented));
      if (!record) return;
      await data.sessions.revoke(record.sessionId, "logout", new Date(clock.now()));
      await logSecurityEvent("logout", {
        userId: record.session.userId,
        sessionId: record.sessionId,
        requestId,
      });
    },

    /**
     * The signed-in user of a Bearer request: a valid access token whose session still stands and
     * whose user is not banned (403 ACCOUNT_DISABLED, before the revocation the ban also made).
     * Revocation and bans must take effect at once on every instance, so the database (the source
     * of truth every instance shares) is asked on every request: one primary-key read joined to
     * the user's row and their apps. That read is also the account the route sees, so GET /api/me
     * runs one statement: with a second one for the account it measured 0.26-0.28 of Express
     * hello, below its guard of 0.30; with one, 0.32-0.40 (docs/benchmarks.md).
     */
    async authenticate(accessToken: string): Promise<SignedIn> {
      const subject = accessTokens.verify(accessToken);
      const standing = await data.sessions.standing(subject.sessionId, subject.userId);
      if (standing && banInForce(standing.account, clock.now())) throw accountDisabled();
      if (!standing || standing.revoked) {
        throw new AppError("UNAUTHORIZED", "The session has been signed out.");
      }
      // The session's own appid, not the token's azp: tokens from before apps carry none.
      return { ...subject, appid: standing.appid, account: standing.account };
    },

    /** The user's live sessions, newest first; `current` is the one asking. */
    async list({ userId, sessionId }: Pick<SignedIn, "userId" | "sessionId">): Promise<Session[]> {
      const records = await data.sessions.listActive(userId, new Date(clock.now()));
      return records.map((session) => ({
        id: session.id,
        createdAt: session.createdAt.toISOString(),
        lastUsedAt: session.lastUsedAt.toISOString(),
        device: session.device,
        app: { appid: session.appid, name: options.apps.nameOf(session.appid) },
        current: session.id === sessionId,
      }));
    },

    /** Signs one of the user's sessions out; 404 when the user has none of that id. */
    async revoke(userId: string, sessionId: string, requestId: string): Promise<void> {
      const now = new Date(clock.now());
      if (!(await data.sessions.revokeForUser(sessionId, userId, "revoke", now))) {
        throw new AppError("NOT_FOUND", "The user has no session with this id.");
      }
      await logSecurityEvent("session_revoked", { userId, sessionId, requestId });
    },

    /** Signs every session of the user out, the one asking included. */
    async revokeAll(userId: string, requestId: string): Promise<void> {
      await data.sessions.revokeAllForUser(userId, "revoke", new Date(clock.now()));
      await logSecurityEvent("sessions_revoked_all", { userId, requestId });
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;
