import type { TokenPair } from "@wxauth/contracts";
import type { Sealer } from "@wxauth/wechat";
import type { Clock } from "../clock.js";
import type { DataAccess } from "../db/data-access.js";
import { AppError } from "../errors.js";
import type { AccessTokens } from "./access-tokens.js";
import { hashOpaqueToken, newOpaqueToken } from "./opaque-tokens.js";
import type { RefreshTokenRecord } from "./refresh-tokens.repository.js";
import type { WechatSessionKeyRecord } from "./wechat-session-keys.repository.js";

export interface SessionsOptions {
  data: Pick<DataAccess, "refreshTokens" | "transaction">;
  accessTokens: AccessTokens;
  /** Seals a successor refresh token for the grace window. */
  successorCipher: Sealer;
  clock: Clock;
  refreshTokenTtlS: number;
  refreshReuseGraceS: number;
}

/**
 * Token pairs: issue one per sign-in (a new refresh-token family), rotate on refresh, revoke the
 * family on logout or on reuse of a rotated token outside the grace window.
 */
export function createSessions(options: SessionsOptions) {
  const { data, accessTokens, successorCipher, clock } = options;
  const { refreshTokens } = data;
  const refreshTtlMs = options.refreshTokenTtlS * 1000;
  const graceMs = options.refreshReuseGraceS * 1000;

  function pair(userId: string, refreshToken: string): TokenPair {
    const access = accessTokens.sign(userId);
    return { accessToken: access.token, refreshToken, expiresIn: access.expiresIn };
  }

  /** A rotated token came back: the same successor within the grace window, else revoke all. */
  async function answerRotated(record: RefreshTokenRecord, now: number): Promise<TokenPair> {
    const rotatedAt = record.rotatedAt?.getTime() ?? now;
    if (record.successorCiphertext && now - rotatedAt <= graceMs) {
      return pair(record.family.userId, successorCipher.open(record.successorCiphertext));
    }
    await refreshTokens.revokeFamily(record.familyId, "reuse", new Date(now));
    throw new AppError("REFRESH_TOKEN_REUSED");
  }

  return {
    /**
     * A new sign-in of the user. A sign-in with WeChat saves the session_key it came with in the
     * same transaction: one commit per sign-in.
     */
    async issue(userId: string, wechatSessionKey?: WechatSessionKeyRecord): Promise<TokenPair> {
      const refreshToken = newOpaqueToken();
      const first = {
        tokenHash: hashOpaqueToken(refreshToken),
        expiresAt: new Date(clock.now() + refreshTtlMs),
      };
      // The writes go out together, with the transaction's BEGIN (see db/client.ts).
      await data.transaction(({ wechatSessionKeys, refreshTokens }) =>
        Promise.all([
          wechatSessionKey && wechatSessionKeys.save(wechatSessionKey),
          refreshTokens.createFamily(userId, first),
        ]),
      );
      return pair(userId, refreshToken);
    },

    async refresh(presented: string): Promise<TokenPair> {
      const tokenHash = hashOpaqueToken(presented);
      const record = await refreshTokens.findByHash(tokenHash);
      const now = clock.now();
      if (!record || record.family.revokedAt !== null || record.expiresAt.getTime() <= now) {
        throw new AppError("REFRESH_TOKEN_INVALID");
      }
      if (record.rotatedAt !== null) return answerRotated(record, now);

      const successor = newOpaqueToken();
      const next = {
        tokenHash: hashOpaqueToken(successor),
        expiresAt: new Date(now + refreshTtlMs),
      };
      const sealedSuccessor = successorCipher.seal(successor);
      const won = await data.transaction(({ refreshTokens }) =>
        refreshTokens.rotate(record, next, new Date(now), sealedSuccessor),
      );
      if (won) return pair(record.family.userId, successor);

      // A concurrent refresh of the same token rotated it first: answer with its successor.
      const rotated = await refreshTokens.findByHash(tokenHash);
      if (!rotated || rotated.family.revokedAt !== null)
        throw new AppError("REFRESH_TOKEN_INVALID");
      return answerRotated(rotated, now);
    },

    /** Revokes the sign-in the token belongs to. Unknown tokens are ignored: logout is idempotent. */
    async logout(presented: string): Promise<void> {
      const record = await refreshTokens.findByHash(hashOpaqueToken(presented));
      if (record)
        await refreshTokens.revokeFamily(record.familyId, "logout", new Date(clock.now()));
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;
