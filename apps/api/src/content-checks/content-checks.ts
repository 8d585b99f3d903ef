import type { Logger } from "pino";
import type { DataAccess } from "../db/data-access.js";
import { AppError } from "../errors.js";
import type { Metrics } from "../metrics/metrics.js";
import type { LogSecurityEvent } from "../security-events/security-events.js";
import type { WechatApps } from "../wechat/apps.js";

/** Who a content check is for: the user, the app of their session (azp), the request. */
export interface CheckedBy {
  userId: string;
  appid: string;
  requestId: string;
}

/**
 * WeChat's content security checks of what users put in their profile, version 2, scene 1
 * (profile), for the user's openid in the app they are using:
 * - a nickname with msgSecCheck before it is saved;
 * - an uploaded avatar with mediaCheckAsync once it is served, its verdict arriving later as a
 *   wxa_media_check push (avatars.service.ts applies it).
 * With CONTENT_CHECKS=off neither makes any WeChat call.
 */
export interface ContentChecks {
  /**
   * Resolves when the nickname may be saved: `pass`, or `review` (which writes the security event
   * `content_review`). Throws 422 CONTENT_REJECTED for `risky`, and WeChat's failures as they map
   * (503 WECHAT_UNAVAILABLE when it cannot be reached): the nickname is then not saved.
   */
  checkNickname(by: CheckedBy, nickname: string): Promise<void>;
  /**
   * Starts the check of an avatar WeChat fetches from `mediaUrl`; resolves its trace_id, or null
   * when no check was started (off, or the call failed: logged, counted, the avatar stays).
   */
  startAvatarCheck(by: CheckedBy, mediaUrl: string): Promise<string | null>;
}

export function createContentChecks(deps: {
  enabled: boolean;
  apps: WechatApps;
  data: DataAccess;
  metrics: Metrics;
  logger: Logger;
  logSecurityEvent: LogSecurityEvent;
}): ContentChecks {
  const { apps, data, metrics, logger } = deps;

  /** The WeChat client and openid a check about this user in this app is made with. */
  async function subjectOf(by: CheckedBy) {
    const app = apps.find(by.appid);
    const openid = await data.wechatIdentities.openidFor(by.userId, by.appid);
    return app && openid !== null ? { client: app.client, openid } : null;
  }

  if (!deps.enabled) {
    return {
      checkNickname: async () => {},
      startAvatarCheck: async () => null,
    };
  }

  return {
    async checkNickname(by, nickname) {
      const subject = await subjectOf(by);
      if (!subject) {
        // The session's app is no longer configured, or the identity went (authorization
        // cancelled): nothing can vouch for the text, so it is not saved.
        throw new AppError(
          "VALIDATION_FAILED",
          "This session's mini program can no longer check a nickname: sign in again.",
        );
      }
      const { suggest, label, traceId } = await subject.client.msgSecCheck({
        openid: subject.openid,
        content: nickname,
        scene: 1,
      });
      metrics.contentChecks.inc({ check: "nickname", result: suggest });
      if (suggest === "risky") {
        await deps.logSecurityEvent("content_rejected", {
          userId: by.userId,
          requestId: by.requestId,
          details: { field: "nickname", label, traceId },
        });
        throw new AppError("CONTENT_REJECTED");
      }
      if (suggest === "review") {
        await deps.logSecurityEvent("content_review", {
          userId: by.userId,
          requestId: by.requestId,
          details: { field: "nickname", label, traceId },
        });
      }
    },

    async startAvatarCheck(by, mediaUrl) {
      try {
        const subject = await subjectOf(by);
        if (!subject) throw new Error("the session's app or identity is gone");
        const { traceId } = await subject.client.mediaCheckAsync({
          openid: subject.openid,
          mediaUrl,
          mediaType: 2,
          scene: 1,
        });
        return traceId;
      } catch (error) {
        // The upload has succeeded and stays served: refusing it because WeChat is down would
        // punish the user for WeChat's outage. It stays unchecked; operators see it here and in
        // wxauth_content_checks_total{check="avatar",result="unchecked"}.
        metrics.contentChecks.inc({ check: "avatar", result: "unchecked" });
        logger.warn(
          { err: error, userId: by.userId, requestId: by.requestId },
          "avatar content check not started: the avatar stays served, unchecked",
        );
        return null;
      }
    },
  };
}
