import type { User } from "@wxauth/contracts";
import { AppError } from "../errors.js";
import type { UserRecord, UsersRepository } from "./users.repository.js";

/*
 * What auth, users and avatars share about accounts. Each of them imports this module, and none
 * imports another's service.
 */

/** The wire form of a user: never the openid, unionid or anything WeChat-internal. */
export function toUserBody(user: UserRecord): User {
  return {
    id: user.id,
    phone: user.phone,
    nickname: user.nickname,
    avatarUrl: user.avatarUrl,
    createdAt: user.createdAt.toISOString(),
    deletionScheduledAt: user.deletionScheduledAt?.toISOString() ?? null,
  };
}

/** A valid token for a deleted account: the client must sign in again. */
export const accountGone = () => new AppError("UNAUTHORIZED", "The account no longer exists.");

/** The user, or 401 when the account no longer exists. */
export function existingAccount(user: UserRecord | null): UserRecord {
  if (!user) throw accountGone();
  return user;
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
    if (byOpenid.phone === phone) return byOpenid;
    return existingAccount(await users.update(byOpenid.id, { phone }));
  }
  if (byPhone) {
    // Seen only when a concurrent registration of this same WeChat user committed between the two
    // reads above (READ COMMITTED): the account is already theirs.
    if (byPhone.openid === identity.openid) return byPhone;
    if (byPhone.openid !== null) throw new AppError("PHONE_ALREADY_BOUND");
    const unionid = byPhone.unionid ?? (await freeUnionid(users, identity.unionid));
    return existingAccount(await users.update(byPhone.id, { openid: identity.openid, unionid }));
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
