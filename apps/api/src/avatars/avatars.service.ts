import { randomUUID } from "node:crypto";
import type { User } from "@wxauth/contracts";
import type { MediaCheckEvent } from "@wxauth/wechat";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { CheckedBy, ContentChecks } from "../content-checks/content-checks.js";
import type { DataAccess } from "../db/data-access.js";
import { AppError } from "../errors.js";
import type { Metrics } from "../metrics/metrics.js";
import type { LogSecurityEvent } from "../security-events/security-events.js";
import { accountGone, existingAccount, toUserBody } from "../users/user-accounts.js";
import { AVATAR_ID, avatarPath } from "./avatar-url.js";
import type { StoredAvatar } from "./avatars.repository.js";
import { imageTypeOf } from "./image-type.js";

export function createAvatarsService(deps: {
  data: DataAccess;
  contentChecks: ContentChecks;
  /** Where WeChat fetches an avatar to check it (PUBLIC_BASE_URL); else the upload's own URL. */
  publicBaseUrl: string | undefined;
  metrics: Metrics;
  clock: Clock;
  logger: Logger;
  logSecurityEvent: LogSecurityEvent;
}) {
  const { data, contentChecks, metrics, clock, logger } = deps;
  return {
    /**
     * Stores `bytes` as the user's avatar, in place of the previous one, and points avatarUrl at
     * it; it is served at once. Then WeChat's content check of it starts (its trace_id kept on the
     * avatar), whose verdict arrives later as a push (applyMediaVerdict). `urlOf` turns the new
     * avatar's id into its absolute URL as the client reached the API.
     */
    async upload(
      by: CheckedBy,
      bytes: Uint8Array<ArrayBuffer>,
      urlOf: (avatarId: string) => string,
    ): Promise<User> {
      const { userId } = by;
      if (bytes.byteLength === 0) throw new AppError("VALIDATION_FAILED", "The file is empty.");
      const contentType = imageTypeOf(bytes);
      if (!contentType) {
        throw new AppError("VALIDATION_FAILED", "The file is not a JPEG, PNG or WebP image.");
      }
      // A new id for every upload: the old URL stops resolving and the new one is never stale.
      const id = randomUUID();
      const user = await data.transaction(async ({ users, avatars }) => {
        // The user's row first, as every change to an account's avatar takes it (users.lock).
        if (!(await users.lock(userId))) throw accountGone();
        await avatars.replaceForUser({ id, userId, contentType, bytes });
        return existingAccount(
          await users.update(userId, { avatarUrl: urlOf(id), avatarRemovedAt: null }),
        );
      });
      const mediaUrl = deps.publicBaseUrl ? `${deps.publicBaseUrl}${avatarPath(id)}` : urlOf(id);
      const traceId = await contentChecks.startAvatarCheck(by, mediaUrl);
      if (traceId !== null) await data.avatars.setCheckTraceId(id, traceId);
      return toUserBody(user);
    },

    async find(avatarId: string): Promise<StoredAvatar> {
      const avatar = AVATAR_ID.test(avatarId) ? await data.avatars.findById(avatarId) : null;
      if (!avatar) throw new AppError("NOT_FOUND");
      return avatar;
    },

    /**
     * A wxa_media_check verdict, matched to its avatar by trace_id: an uploaded one, or one set as
     * a URL (users.service.ts). `risky` deletes the avatar and
     * leaves the user with none (avatarRemovedAt tells them why); the deletion is conditional on
     * the avatar still being there, so a verdict delivered twice, or to two instances, acts once.
     * `review` keeps it and writes `content_review`. A verdict for an avatar replaced since, or a
     * check WeChat could not make (errcode), changes nothing.
     */
    async applyMediaVerdict(event: MediaCheckEvent, requestId: string): Promise<void> {
      const { traceId } = event;
      if (event.result === null) {
        metrics.contentChecks.inc({ check: "avatar", result: "unchecked" });
        logger.warn(
          { traceId, errcode: event.errcode, requestId },
          "WeChat could not check an avatar: it stays served, unchecked",
        );
        return;
      }
      const { suggest, label } = event.result;
      metrics.contentChecks.inc({ check: "avatar", result: suggest });
      if (suggest === "pass") return;
      if (suggest === "review") {
        const userId =
          (await data.avatars.findByCheckTraceId(traceId))?.userId ??
          (await data.users.findByAvatarCheckTraceId(traceId));
        if (userId !== null) {
          await deps.logSecurityEvent("content_review", {
            userId,
            requestId,
            details: { field: "avatar", label, traceId },
          });
        }
        return;
      }
      const now = new Date(clock.now());
      const removedFrom = await data.transaction(async ({ avatars, users }) => {
        const checked = await avatars.findByCheckTraceId(traceId);
        if (!checked) return users.removeAvatarCheckedAs(traceId, now);
        // The user's row first, as every change to an account's avatar takes it (users.lock).
        if (!(await users.lock(checked.userId))) return null;
        const avatar = await avatars.deleteByCheckTraceId(traceId);
        if (!avatar) return null;
        await users.update(avatar.userId, { avatarUrl: null, avatarRemovedAt: now });
        return avatar.userId;
      });
      if (removedFrom !== null) {
        await deps.logSecurityEvent("avatar_removed", {
          userId: removedFrom,
          requestId,
          details: { reason: "content_check", label, traceId },
        });
      }
    },
  };
}

export type AvatarsService = ReturnType<typeof createAvatarsService>;
