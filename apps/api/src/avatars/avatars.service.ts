import { randomUUID } from "node:crypto";
import type { User } from "@wxauth/contracts";
import type { DataAccess } from "../db/data-access.js";
import { AppError } from "../errors.js";
import { existingAccount, toUserBody } from "../users/user-accounts.js";
import { AVATAR_ID } from "./avatar-url.js";
import type { StoredAvatar } from "./avatars.repository.js";
import { imageTypeOf } from "./image-type.js";

export function createAvatarsService(deps: { data: DataAccess }) {
  const { data } = deps;
  return {
    /**
     * Stores `bytes` as the user's avatar, in place of the previous one, and points avatarUrl at
     * it. `urlOf` turns the new avatar's id into its absolute URL.
     */
    async upload(
      userId: string,
      bytes: Uint8Array<ArrayBuffer>,
      urlOf: (avatarId: string) => string,
    ): Promise<User> {
      if (bytes.byteLength === 0) throw new AppError("VALIDATION_FAILED", "The file is empty.");
      const contentType = imageTypeOf(bytes);
      if (!contentType) {
        throw new AppError("VALIDATION_FAILED", "The file is not a JPEG, PNG or WebP image.");
      }
      // A new id for every upload: the old URL stops resolving and the new one is never stale.
      const id = randomUUID();
      const user = await data.transaction(async ({ users, avatars }) => {
        existingAccount(await users.findById(userId));
        await avatars.replaceForUser({ id, userId, contentType, bytes });
        return existingAccount(await users.update(userId, { avatarUrl: urlOf(id) }));
      });
      return toUserBody(user);
    },

    async find(avatarId: string): Promise<StoredAvatar> {
      const avatar = AVATAR_ID.test(avatarId) ? await data.avatars.findById(avatarId) : null;
      if (!avatar) throw new AppError("NOT_FOUND");
      return avatar;
    },
  };
}

export type AvatarsService = ReturnType<typeof createAvatarsService>;
