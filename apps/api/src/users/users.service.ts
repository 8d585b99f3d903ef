import type { UpdateMeRequest, User } from "@wxauth/contracts";
import type { WechatClient } from "@wxauth/wechat";
import { avatarIdIn } from "../avatars/avatar-url.js";
import type { DataAccess } from "../db/data-access.js";
import { AppError } from "../errors.js";
import { existingAccount, toUserBody } from "./user-accounts.js";

export function createUsersService(deps: { data: DataAccess; wechat: WechatClient }) {
  const { data, wechat } = deps;

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

    /** Binds or changes the phone of the signed-in user, proven by a getPhoneNumber code. */
    async bindPhone(userId: string, phoneCode: string): Promise<User> {
      const user = existingAccount(await data.users.findById(userId));
      const { e164 } = await wechat.getPhoneNumber(phoneCode, user.openid ?? "");
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
