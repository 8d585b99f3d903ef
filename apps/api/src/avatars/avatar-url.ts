import { contract } from "@wxauth/contracts";

/** What an avatar id looks like; anything else is unknown without asking the database. */
export const AVATAR_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The path an uploaded avatar is served at. */
export const avatarPath = (avatarId: string) =>
  contract.getAvatar.path.replace(":avatarId", avatarId);

const [pathBeforeId = ""] = contract.getAvatar.path.split(":avatarId");

/** The id of the uploaded avatar `url` points at, if it points at one (whatever its host). */
export function avatarIdIn(url: string | null): string | undefined {
  if (url === null) return undefined;
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const id = pathname.startsWith(pathBeforeId) ? pathname.slice(pathBeforeId.length) : "";
  return AVATAR_ID.test(id) ? id : undefined;
}
