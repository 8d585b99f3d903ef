import type { Database, DatabaseTransaction } from "../db/client.js";

export interface UserRecord {
  id: string;
  phone: string | null;
  openid: string | null;
  unionid: string | null;
  nickname: string | null;
  avatarUrl: string | null;
  createdAt: Date;
}

export interface NewUser {
  openid?: string | null;
  unionid?: string | null;
  phone?: string | null;
}

export type UserChanges = Partial<
  Pick<UserRecord, "phone" | "openid" | "unionid" | "nickname" | "avatarUrl">
>;

const userColumns = {
  id: true,
  phone: true,
  openid: true,
  unionid: true,
  nickname: true,
  avatarUrl: true,
  createdAt: true,
} as const;

export function createUsersRepository(db: Database | DatabaseTransaction) {
  return {
    findById: (id: string): Promise<UserRecord | null> =>
      db.user.findUnique({ where: { id }, select: userColumns }),
    findByOpenid: (openid: string): Promise<UserRecord | null> =>
      db.user.findUnique({ where: { openid }, select: userColumns }),
    findByPhone: (phone: string): Promise<UserRecord | null> =>
      db.user.findUnique({ where: { phone }, select: userColumns }),
    findByUnionid: (unionid: string): Promise<UserRecord | null> =>
      db.user.findUnique({ where: { unionid }, select: userColumns }),
    create: (user: NewUser): Promise<UserRecord> =>
      db.user.create({ data: user, select: userColumns }),
    update: (id: string, changes: UserChanges): Promise<UserRecord> =>
      db.user.update({ where: { id }, data: changes, select: userColumns }),
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
