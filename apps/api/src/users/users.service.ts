import type { Logger } from "pino";
import type { BindPhoneRequest, Me, SmsCodeSent, UpdateMeRequest, User } from "@wxauth/contracts";
import { avatarIdIn } from "../avatars/avatar-url.js";
import type { CheckedBy, ContentChecks } from "../content-checks/content-checks.js";
import type { DataAccess } from "../db/data-access.js";
import { AppError } from "../errors.js";
import type { Metrics } from "../metrics/metrics.js";
import type { LogSecurityEvent } from "../security-events/security-events.js";
import type { SmsCodes } from "../sms/sms-codes.js";
import type { SmsContext } from "../sms/sms-sender.js";
import type { WechatApps } from "../wechat/apps.js";
import { fetchPhoneNumber } from "../wechat/phone-numbers.js";
import { accountGone, existingAccount, toUserBody } from "./user-accounts.js";
import type { AccountRecord } from "./users.repository.js";

export function createUsersService(deps: {
  data: DataAccess;
  apps: WechatApps;
  smsCodes: SmsCodes;
  /** ACCOUNT_DELETION_COOLING_OFF_S, told to the user before they ask for a deletion. */
  deletionCoolingOffS: number;
  logSecurityEvent: LogSecurityEvent;
  contentChecks: ContentChecks;
  metrics: Metrics;
  logger: Logger;
}) {
  const { data, apps, smsCodes, contentChecks, metrics, logger } = deps;

  /** The phone a getPhoneNumber code proves, looked up with the app of the user's session. */
  async function phoneOfCode(
    userId: string,
    appid: string,
    phoneCode: string,
    requestId: string | null,
  ): Promise<string> {
    const app = apps.find(appid);
    const openid = await data.wechatIdentities.openidFor(userId, appid);
    if (!app || openid === null) {
      throw new AppError(
        "VALIDATION_FAILED",
        "This session's mini program can no longer verify a phone: use an SMS code.",
      );
    }
    return fetchPhoneNumber(deps.logSecurityEvent, app, {
      phoneCode,
      openid,
      purpose: "change-phone",
      userId,
      requestId,
    });
  }

  /**
   * Starts WeChat's check of an avatarUrl set as a URL and keeps its trace_id. The avatar is saved
   * already: a failure leaves it unchecked (logged and counted), as for an upload.
   */
  async function startAvatarUrlCheck(by: CheckedBy, avatarUrl: string): Promise<void> {
    const traceId = await contentChecks.startAvatarCheck(by, avatarUrl);
    if (traceId === null) return;
    try {
      await data.users.setAvatarCheckTraceId(by.userId, avatarUrl, traceId);
    } catch (error) {
      metrics.contentChecks.inc({ check: "avatar", result: "unchecked" });
      logger.warn(
        { err: error, userId: by.userId, requestId: by.requestId },
        "avatar content check started, its trace_id not kept: the avatar stays, unchecked",
      );
    }
  }

  return {
    /**
     * GET /api/me: the user, what a deletion asked for now would do, and the apps they are linked
     * to (never an openid or unionid), from the account the request was authenticated with.
     */
    getMe(account: AccountRecord): Me {
      return {
        ...toUserBody(account),
        deletionCoolingOff: deps.deletionCoolingOffS,
        identities: account.apps.map(({ appid, createdAt }) => ({
          appid,
          name: apps.nameOf(appid),
          createdAt: createdAt.toISOString(),
        })),
        avatarRemovedAt: account.avatarRemovedAt?.toISOString() ?? null,
      };
    },

    /**
     * PATCH /api/me. A new nickname is saved only once WeChat's content check lets it through
     * (content-checks/content-checks.ts); the same nickname again is not checked again. Another
     * avatarUrl goes to WeChat's media check at its own address, as an upload does.
     */
    async updateMe(by: CheckedBy, changes: UpdateMeRequest): Promise<User> {
      const { userId } = by;
      const { avatarUrl, ...rest } = changes;
      if (rest.nickname !== undefined) {
        const current = existingAccount(await data.users.findById(userId));
        if (rest.nickname !== current.nickname) {
          await contentChecks.checkNickname(by, rest.nickname);
        }
      }
      if (avatarUrl === undefined) {
        return toUserBody(existingAccount(await data.users.update(userId, rest)));
      }
      // An uploaded avatar that avatarUrl no longer points at is nobody's: it goes with the change.
      // Setting an avatar also ends the notice of one removed by the content check. The row is
      // locked, so `changed` is what this update changes.
      const { user, changed } = await data.transaction(async ({ users, avatars }) => {
        if (!(await users.lock(userId))) throw accountGone();
        const before = existingAccount(await users.findById(userId));
        const updated = existingAccount(
          await users.update(userId, { ...rest, avatarUrl, avatarRemovedAt: null }),
        );
        await avatars.deleteForUserExcept(userId, avatarIdIn(avatarUrl));
        return { user: updated, changed: before.avatarUrl !== avatarUrl };
      });
      // Another avatarUrl goes to WeChat's media check at its own address, as an upload does (an
      // upload's URL is set by the upload itself, so a URL set here is never trusted as one), and
      // a risky verdict removes it (avatars.service.ts).
      if (changed && avatarUrl !== null) await startAvatarUrlCheck(by, avatarUrl);
      return toUserBody(user);
    },

    /**
     * POST /api/me/phone/sms: a code for changing the signed-in user's phone, bound to the user and
     * the phone. Whether the phone is free is told only once it is proven, never to a sender.
     */
    async sendPhoneChangeSms(
      userId: string,
      phone: string,
      context: SmsContext & { ip: string },
    ): Promise<SmsCodeSent> {
      existingAccount(await data.users.findById(userId));
      const { expiresIn, retryAfter } = await smsCodes.send({
        purpose: "change-phone",
        subject: userId,
        phone,
        ...context,
      });
      return { expiresIn, retryAfter };
    },

    /**
     * Binds or changes the phone of the signed-in user, proven by a getPhoneNumber code (of the
     * app `appid` they are signed in through) or by the SMS code sent for this user and phone.
     */
    async bindPhone(
      { userId, appid }: { userId: string; appid: string },
      proof: BindPhoneRequest,
      context: SmsContext,
    ): Promise<User> {
      existingAccount(await data.users.findById(userId));
      const e164 =
        "phoneCode" in proof
          ? await phoneOfCode(userId, appid, proof.phoneCode, context.requestId ?? null)
          : (
              await smsCodes.verify({
                purpose: "change-phone",
                subject: userId,
                phone: proof.phone,
                code: proof.smsCode,
                ...context,
              })
            ).phone;
      const updated = await data.transaction(async ({ users }) => {
        const holder = await users.findByPhone(e164);
        if (holder && holder.id !== userId) throw new AppError("PHONE_ALREADY_BOUND");
        return holder ?? existingAccount(await users.update(userId, { phone: e164 }));
      });
      return toUserBody(updated);
    },
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
