import type { BindPhoneRequest, Me, SmsCodeSent, UpdateMeRequest, User } from "@wxauth/contracts";
import type { WechatClient } from "@wxauth/wechat";
import { avatarIdIn } from "../avatars/avatar-url.js";
import type { DataAccess } from "../db/data-access.js";
import { AppError } from "../errors.js";
import type { SmsCodes } from "../sms/sms-codes.js";
import type { SmsContext } from "../sms/sms-sender.js";
import { existingAccount, toUserBody } from "./user-accounts.js";

export function createUsersService(deps: {
  data: DataAccess;
  wechat: WechatClient;
  smsCodes: SmsCodes;
  /** ACCOUNT_DELETION_COOLING_OFF_S, told to the user before they ask for a deletion. */
  deletionCoolingOffS: number;
}) {
  const { data, wechat, smsCodes } = deps;

  return {
    getMe: async (userId: string): Promise<Me> => ({
      ...toUserBody(existingAccount(await data.users.findById(userId))),
      deletionCoolingOff: deps.deletionCoolingOffS,
    }),

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
          ? (await wechat.getPhoneNumber(proof.phoneCode, user.openid ?? "")).e164
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
