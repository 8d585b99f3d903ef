import type { User } from "@wxauth/contracts";
import { AppError } from "../errors.js";
import type { Repositories } from "../db/data-access.js";
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
export function existingAccount<User extends UserRecord>(user: User | null): User {
  if (!user) throw accountGone();
  return user;
}

/** A WeChat user as one app's jscode2session saw them. */
export interface WechatIdentity {
  appid: string;
  openid: string;
  /** Only for apps bound to an Open Platform account; the same person's in each of them. */
  unionid: string | null;
}

/** The repositories that write accounts and their identities (one transaction's). */
type AccountRepositories = Pick<Repositories, "users" | "wechatIdentities">;

/**
 * The account of a WeChat user who proved `phone`, under the phone rules:
 * - the identity (appid, openid) already has an account, or its unionid does (registered through
 *   another bound app meanwhile): that account, given the identity and the phone, unless another
 *   account holds the phone;
 * - the phone belongs to an account with no WeChat identity: that account gets this one;
 * - the phone belongs to another WeChat account: 409 PHONE_ALREADY_BOUND (no linking by phone:
 *   a phone is not proof of being the same WeChat user);
 * - otherwise a new account with both.
 * Runs inside a transaction; a unique-constraint race makes the caller run it again.
 */
export async function bindWechatAccountToPhone(
  { users, wechatIdentities }: AccountRepositories,
  identity: WechatIdentity,
  phone: string,
): Promise<UserRecord> {
  const byIdentity = await wechatIdentities.findUser(identity.appid, identity.openid);
  const byUnionid =
    byIdentity || identity.unionid === null ? null : await users.findByUnionid(identity.unionid);
  const byPhone = await users.findByPhone(phone);
  const known = byIdentity ?? byUnionid;
  if (known) {
    if (byPhone && byPhone.id !== known.id) throw new AppError("PHONE_ALREADY_BOUND");
    if (!byIdentity) await wechatIdentities.add({ userId: known.id, ...identity });
    const unionid = known.unionid ?? (await freeUnionid(users, identity.unionid));
    if (known.phone === phone && known.unionid === unionid) return known;
    return existingAccount(await users.update(known.id, { phone, unionid }));
  }
  if (byPhone) {
    const identities = await wechatIdentities.listForUser(byPhone.id);
    // Seen only when a concurrent registration of this same WeChat user committed between the
    // reads above (READ COMMITTED): the account is already theirs.
    if (identities.some((i) => i.appid === identity.appid && i.openid === identity.openid)) {
      return byPhone;
    }
    if (identities.length > 0) throw new AppError("PHONE_ALREADY_BOUND");
    await wechatIdentities.add({ userId: byPhone.id, ...identity });
    const unionid = byPhone.unionid ?? (await freeUnionid(users, identity.unionid));
    return existingAccount(await users.update(byPhone.id, { unionid }));
  }
  return createWechatUser({ users, wechatIdentities }, identity, phone);
}

/** A new account with the WeChat identity (and the phone, if proven). */
export async function createWechatUser(
  { users, wechatIdentities }: AccountRepositories,
  identity: WechatIdentity,
  phone: string | null = null,
): Promise<UserRecord> {
  const user = await users.create({
    unionid: await freeUnionid(users, identity.unionid),
    phone,
  });
  await wechatIdentities.add({ userId: user.id, appid: identity.appid, openid: identity.openid });
  return user;
}

/**
 * The unionid to store for a new binding, or null when another account already holds it. Every
 * caller looked the unionid's account up first; this covers a concurrent binding that took it
 * since: the identity still identifies the account, which simply goes without.
 */
async function freeUnionid(users: UsersRepository, unionid: string | null): Promise<string | null> {
  if (unionid === null) return null;
  return (await users.findByUnionid(unionid)) ? null : unionid;
}
