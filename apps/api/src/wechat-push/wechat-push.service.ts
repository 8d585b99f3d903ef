import { createHash } from "node:crypto";
import {
  WechatPush,
  WechatPushError,
  parsePushEvent,
  type PushQuery,
  type SharedStore,
  type WechatPushEvent,
} from "@wxauth/wechat";
import type { Logger } from "pino";
import type { AvatarsService } from "../avatars/avatars.service.js";
import type { Clock } from "../clock.js";
import type { DataAccess } from "../db/data-access.js";
import { AppError } from "../errors.js";
import type { Metrics } from "../metrics/metrics.js";
import type { LogSecurityEvent } from "../security-events/security-events.js";
import type { AccountDeletion } from "../users/account-deletion.js";
import type { WechatApps } from "../wechat/apps.js";

/**
 * How long a push is remembered as handled. WeChat repeats an unanswered push three times within
 * seconds; a replay of a captured push (safe mode authenticates, it does not stop replays) is
 * recognised for this long. Past it, a media verdict still acts once (its avatar is gone).
 */
const HANDLED_TTL_MS = 3 * 24 * 60 * 60 * 1000;
/**
 * How long a delivery that is still acting holds its push. Past it (the instance died halfway), a
 * redelivery acts: WeChat delivers a push again while it gets no `success` for it.
 */
const IN_FLIGHT_TTL_MS = 30_000;
/** The claim of a push whose action is done (earlier versions claimed with the request id). */
const HANDLED = "handled";
/** The claim of a delivery still acting, followed by its request id. */
const IN_FLIGHT = "in-flight:";

/** RevokeInfo values (WeChat's documentation) that name data wxauth keeps. */
const REVOKED_NICKNAME_AND_AVATAR = "6";
const REVOKED_PHONE = "8";
const REVOKED_NICKNAME = "19";
const REVOKED_AVATAR = "20";

/** What WeChat's profile data a user event makes wxauth forget. */
interface Forget {
  nickname: boolean;
  avatar: boolean;
  phone: boolean;
  /** The avatar goes for its content (WeChat cleaned it), not at the user's wish: tell them. */
  avatarForContent?: boolean;
}

/** The RevokeInfo ids of a push ("8", or several: "6,8"), each once. */
export function revokedIds(revokeInfo: string | null): string[] {
  return [...new Set((revokeInfo ?? "").split(/[^0-9]+/).filter(Boolean))];
}

const PUSH_REFUSALS: Readonly<
  Record<WechatPushError["reason"], "UNAUTHORIZED" | "VALIDATION_FAILED">
> = {
  bad_signature: "UNAUTHORIZED",
  encryption_mismatch: "UNAUTHORIZED",
  bad_ciphertext: "UNAUTHORIZED",
  wrong_appid: "UNAUTHORIZED",
  bad_body: "VALIDATION_FAILED",
  bad_event: "VALIDATION_FAILED",
  stale: "UNAUTHORIZED",
};

/**
 * WeChat's message push to each configured app (`/api/wechat/push/:appid`): the server-address
 * check, and the events wxauth acts on. Every push is authenticated (signature, and in safe mode
 * msg_signature, decryption and the appid) before anything is read from it; a refused one changes
 * nothing. A push is handled once: the first delivery claims it in the shared store (across
 * instances), and each action is also conditional in the database.
 */
export function createWechatPushService(deps: {
  apps: WechatApps;
  data: DataAccess;
  store: SharedStore;
  avatars: AvatarsService;
  accountDeletion: AccountDeletion;
  metrics: Metrics;
  clock: Clock;
  logger: Logger;
  logSecurityEvent: LogSecurityEvent;
}) {
  const { apps, data, store, avatars, accountDeletion, metrics, clock } = deps;
  const logger = deps.logger.child({ component: "wechat-push" });
  const endpoints = new Map(
    apps.all.flatMap((app) =>
      app.push
        ? [
            [
              app.appid,
              new WechatPush({
                appid: app.appid,
                token: app.push.token,
                encodingAesKey: app.push.aesKey,
              }),
            ] as const,
          ]
        : [],
    ),
  );

  /** The app's push endpoint; 404 for an appid not configured or without a push Token. */
  function endpointOf(appid: string): WechatPush {
    const endpoint = endpoints.get(appid);
    if (!endpoint) throw new AppError("NOT_FOUND");
    return endpoint;
  }

  const appLabel = (appid: string) => apps.nameOf(appid) ?? "unknown";

  /** What a push is remembered by: a media verdict by its trace_id, anything else by its text. */
  function handledKey(appid: string, event: WechatPushEvent): string {
    if (event.type === "wxa_media_check") return `push:${appid}:trace:${event.traceId}`;
    const digest = createHash("sha256").update(JSON.stringify(event.message)).digest("hex");
    return `push:${appid}:message:${digest}`;
  }

  /** Forgets WeChat-sourced profile data of the user whose identity the event names. */
  async function forgetProfile(
    identity: { appid: string; openid: string },
    forget: Forget,
  ): Promise<string | null> {
    if (!forget.nickname && !forget.avatar && !forget.phone) {
      return (await data.wechatIdentities.findUser(identity.appid, identity.openid))?.id ?? null;
    }
    const now = new Date(clock.now());
    return data.transaction(async ({ users, avatars: avatarRows, wechatIdentities }) => {
      const user = await wechatIdentities.findUser(identity.appid, identity.openid);
      if (!user) return null;
      const removeAvatar = forget.avatar && user.avatarUrl !== null;
      await users.update(user.id, {
        ...(forget.nickname ? { nickname: null } : {}),
        ...(forget.phone ? { phone: null } : {}),
        ...(removeAvatar ? { avatarUrl: null } : {}),
        ...(removeAvatar && forget.avatarForContent ? { avatarRemovedAt: now } : {}),
      });
      if (forget.avatar) await avatarRows.deleteForUserExcept(user.id, undefined);
      return user.id;
    });
  }

  async function handle(appid: string, event: WechatPushEvent, requestId: string): Promise<void> {
    switch (event.type) {
      case "wxa_media_check":
        await avatars.applyMediaVerdict(event, requestId);
        return;
      case "user_authorization_revoke": {
        const ids = revokedIds(event.revokeInfo);
        const forget: Forget = {
          nickname: ids.includes(REVOKED_NICKNAME_AND_AVATAR) || ids.includes(REVOKED_NICKNAME),
          avatar: ids.includes(REVOKED_NICKNAME_AND_AVATAR) || ids.includes(REVOKED_AVATAR),
          phone: ids.includes(REVOKED_PHONE),
        };
        const userId = await forgetProfile(event, forget);
        await deps.logSecurityEvent("wechat_authorization_revoked", {
          userId,
          requestId,
          details: {
            appid,
            revokeInfo: ids.join(","),
            clearedNickname: userId !== null && forget.nickname,
            clearedAvatar: userId !== null && forget.avatar,
            clearedPhone: userId !== null && forget.phone,
          },
        });
        return;
      }
      case "user_authorization_cancellation": {
        const outcome = await accountDeletion.cancelWechatAuthorization(event, requestId);
        await deps.logSecurityEvent("wechat_authorization_cancelled", {
          userId: outcome?.userId ?? null,
          requestId,
          details: {
            appid,
            identityRemoved: outcome !== null,
            deletionScheduled: outcome?.deletionScheduledAt != null,
          },
        });
        return;
      }
      case "user_info_modified": {
        // WeChat cleaned the user's risky nickname or avatar and asks developers to update or
        // clear their copies; wxauth cannot fetch the new ones, so it clears both.
        const userId = event.openid
          ? await forgetProfile(
              { appid, openid: event.openid },
              { nickname: true, avatar: true, phone: false, avatarForContent: true },
            )
          : null;
        await deps.logSecurityEvent("wechat_user_info_modified", {
          userId,
          requestId,
          details: { appid, cleared: userId !== null },
        });
        return;
      }
      case "unknown":
        logger.info({ appid, event: event.event, requestId }, "WeChat push not handled by wxauth");
        return;
    }
  }

  return {
    /** GET: the server-address check. The echostr to answer; 401 when the signature is wrong. */
    verifyServer(appid: string, query: PushQuery): string {
      const echostr = endpointOf(appid).verifyServer(query);
      if (echostr === null) {
        metrics.wechatPushes.inc({
          app: appLabel(appid),
          event: "server_check",
          result: "refused",
        });
        throw new AppError("UNAUTHORIZED", "The push signature does not match this app's Token.");
      }
      return echostr;
    },

    /**
     * POST: one push. Resolves once it is handled, or was already; throws (401 or 400) when it is
     * refused, 503 while an earlier delivery of it is still acting, and rethrows a failure of its
     * action after giving the claim back, so WeChat's next delivery can act.
     */
    async receive(appid: string, query: PushQuery, body: string, requestId: string): Promise<void> {
      const endpoint = endpointOf(appid);
      let event: WechatPushEvent;
      try {
        event = parsePushEvent(endpoint.open(query, body, { now: clock.now() }));
        const named = "appid" in event ? event.appid : appid;
        if (named !== appid) {
          throw new WechatPushError("wrong_appid", "the message names another app");
        }
      } catch (error) {
        if (!(error instanceof WechatPushError)) throw error;
        metrics.wechatPushes.inc({ app: appLabel(appid), event: "unknown", result: "refused" });
        // A log line and a metric, not a security event: anyone can send refused pushes, and a
        // row each would let them fill the security_events table.
        logger.warn(
          { event: "wechat_push_refused", appid, reason: error.reason, requestId },
          "WeChat push refused",
        );
        throw new AppError(PUSH_REFUSALS[error.reason], `WeChat push refused: ${error.message}.`);
      }
      const eventLabel = event.type === "unknown" ? "other" : event.type;
      const key = handledKey(appid, event);
      const inFlight = `${IN_FLIGHT}${requestId}`;
      if (!(await store.setIfAbsent(key, inFlight, IN_FLIGHT_TTL_MS))) {
        const held = await store.get(key);
        if (held === null || held.startsWith(IN_FLIGHT)) {
          // An earlier delivery is still acting (or has just given the push back). Should it
          // fail, WeChat's next delivery must act, so this one is not answered success: WeChat
          // delivers it again.
          metrics.wechatPushes.inc({
            app: appLabel(appid),
            event: eventLabel,
            result: "in_flight",
          });
          throw new AppError(
            "SERVICE_UNAVAILABLE",
            "An earlier delivery of this push is still being handled: deliver it again.",
          );
        }
        metrics.wechatPushes.inc({ app: appLabel(appid), event: eventLabel, result: "duplicate" });
        logger.info({ appid, event: eventLabel, requestId }, "WeChat push already handled");
        return;
      }
      try {
        await handle(appid, event, requestId);
      } catch (error) {
        await store.deleteIfEquals(key, inFlight).catch(() => false);
        throw error;
      }
      // The action is done: should the store fail to remember it, a redelivery after the claim
      // expires acts again, and each action is conditional in the database.
      await store.set(key, HANDLED, HANDLED_TTL_MS).catch((error: unknown) => {
        logger.warn({ err: error, appid, requestId }, "WeChat push handled, not remembered");
      });
      metrics.wechatPushes.inc({ app: appLabel(appid), event: eventLabel, result: "handled" });
    },
  };
}

export type WechatPushService = ReturnType<typeof createWechatPushService>;
