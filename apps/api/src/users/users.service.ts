import type { BindPhoneRequest, SmsCodeSent, UpdateMeRequest, User } from "@wxauth/contracts";
import type { WechatClient } from "@wxauth/wechat";
import { avatarIdIn } from "../avatars/avatar-url.js";
import type { DataAccess } from "../db/data-access.js";
import { AppError } from "../errors.js";
import type { LogSecurityEvent } from "../security-events/security-events.js";
import type { SmsCodes } from "../sms/sms-codes.js";
import type { SmsContext } from "../sms/sms-sender.js";
import { existingAccount, toUserBody } from "./user-accounts.js";
import type { UserRecord } from "./users.repository.js";

export function createUsersService(deps: {
  data: DataAccess;
  wechat: WechatClient;
  smsCodes: SmsCodes;
  logSecurityEvent: LogSecurityEvent;
}) {
  const { data, wechat, smsCodes } = deps;

  /** A phone from a getPhoneNumber code; each success is billed by WeChat, so it is an event. */
  async function phoneFromWechat(phoneCode: string, user: UserRecord, requestId: string | null) {
    const phone = await wechat.getPhoneNumber(phoneCode, user.openid ?? "");
    await deps.logSecurityEvent("phone_number_fetched", {
      userId: user.id,
      requestId,
      details: { purpose: "change-phone" },
    });
    return phone.e164;
  }

  return {
    getMe: async (userId: string): Promise<User> =>
      toUserBody(existingAccount(await data.users.findById(userId))),

    async updateMe(userId: string, changes: UpdateMeRequest): Promise<User> {
      if (changes.avatarUrl === undefined) {
        return toUserBody(existingAccount(await data.users.update(userId, changes)));
      }
      const { avatarUrl } = changes;
      // An uploaded avatar that avatarUrl no longer points at is nobody's: it goes with the change.
      const user = await data.transaction(async ({ users, avatars }) => {
        const updated = existingAccount(await users.update(userId, changes));
        await avatars.deleteForUserExcept(userId, avatarIdIn(avatarUrl));
        return updated;
      });
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
     * Binds or changes the phone of the signed-in user, proven by a getPhoneNumber code or by the
     * SMS code sent for this user and phone.
     */
    async bindPhone(userId: string, proof: BindPhoneRequest, context: SmsContext): Promise<User> {
      const user = existingAccount(await data.users.findById(userId));
      const e164 =
        "phoneCode" in proof
          ? await phoneFromWechat(proof.phoneCode, user, context.requestId ?? null)
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
