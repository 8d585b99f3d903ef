import type { UpdateMeRequest, User } from "@wxauth/contracts";
import type { WechatClient } from "@wxauth/wechat";
import type { DataAccess } from "../db/data-access.js";
import { isRecordNotFound } from "../db/errors.js";
import { avatarIdIn } from "../avatars/avatar-url.js";
import { AppError } from "../errors.js";
import type { UserRecord, UsersRepository } from "./users.repository.js";

/** The wire form of a user: never the openid, unionid or anything WeChat-internal. */
export function toUserBody(user: UserRecord): User {
  return {
    id: user.id,
    phone: user.phone,
    nickname: user.nickname,
    avatarUrl: user.avatarUrl,
    createdAt: user.createdAt.toISOString(),
  };
}

export interface WechatIdentity {
  openid: string;
  unionid: string | null;
}

/**
 * The account of a WeChat user who proved `phone`, under the phone rules:
 * - the openid already has an account: it gets the phone, unless another account holds it;
 * - the phone belongs to an account without an openid: that account gets the openid;
 * - the phone belongs to another WeChat account: 409 PHONE_ALREADY_BOUND;
 * - otherwise a new account with both.
 * Runs inside a transaction; a unique-constraint race makes the caller run it again.
 */
export async function bindWechatAccountToPhone(
  users: UsersRepository,
  identity: WechatIdentity,
  phone: string,
): Promise<UserRecord> {
  const byOpenid = await users.findByOpenid(identity.openid);
  const byPhone = await users.findByPhone(phone);
  if (byOpenid) {
    if (byPhone && byPhone.id !== byOpenid.id) throw new AppError("PHONE_ALREADY_BOUND");
    return byOpenid.phone === phone ? byOpenid : users.update(byOpenid.id, { phone });
  }
  if (byPhone) {
    // Seen only when a concurrent registration of this same WeChat user committed between the two
    // reads above (READ COMMITTED): the account is already theirs.
    if (byPhone.openid === identity.openid) return byPhone;
    if (byPhone.openid !== null) throw new AppError("PHONE_ALREADY_BOUND");
    const unionid = byPhone.unionid ?? (await freeUnionid(users, identity.unionid));
    return users.update(byPhone.id, { openid: identity.openid, unionid });
  }
  return users.create({
    openid: identity.openid,
    unionid: await freeUnionid(users, identity.unionid),
    phone,
  });
}

/**
 * The unionid to store for a new binding, or null when another account already holds it. Within
 * one appid WeChat never gives two openids one unionid; if it ever happens, the openid still
 * identifies the account and the second binding simply goes without.
 */
async function freeUnionid(users: UsersRepository, unionid: string | null): Promise<string | null> {
  if (unionid === null) return null;
  return (await users.findByUnionid(unionid)) ? null : unionid;
}

/** A valid token for a deleted account: the client must sign in again. */
export const accountGone = () => new AppError("UNAUTHORIZED", "The account no longer exists.");

export function createUsersService(deps: { data: DataAccess; wechat: WechatClient }) {
  const { data, wechat } = deps;

  async function requireUser(userId: string): Promise<UserRecord> {
    const user = await data.users.findById(userId);
    if (!user) throw accountGone();
    return user;
  }

  return {
    getMe: async (userId: string): Promise<User> => toUserBody(await requireUser(userId)),

    async updateMe(userId: string, changes: UpdateMeRequest): Promise<User> {
      try {
        if (changes.avatarUrl === undefined) {
          return toUserBody(await data.users.update(userId, changes));
        }
        const { avatarUrl } = changes;
        // An uploaded avatar that avatarUrl no longer points at is nobody's: it goes with the change.
        const user = await data.transaction(async ({ users, avatars }) => {
          const updated = await users.update(userId, changes);
          await avatars.deleteForUserExcept(userId, avatarIdIn(avatarUrl));
          return updated;
        });
        return toUserBody(user);
      } catch (error) {
        if (isRecordNotFound(error)) throw accountGone();
        throw error;
      }
    },

    /** Binds or changes the phone of the signed-in user, proven by a getPhoneNumber code. */
    async bindPhone(userId: string, phoneCode: string): Promise<User> {
      const user = await requireUser(userId);
      const { e164 } = await wechat.getPhoneNumber(phoneCode, user.openid ?? "");
      const updated = await data.transaction(async ({ users }) => {
        const holder = await users.findByPhone(e164);
        if (holder && holder.id !== userId) throw new AppError("PHONE_ALREADY_BOUND");
        return holder ? holder : users.update(userId, { phone: e164 });
      });
      return toUserBody(updated);
    },
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
