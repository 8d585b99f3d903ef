import { contract } from "@wxauth/contracts";
import type { Request } from "express";
import { AppError } from "../errors.js";
import type { Authenticate } from "../http/authenticate.js";
import { contractRouter } from "../http/contract-route.js";
import { avatarPath } from "./avatar-url.js";
import type { AvatarsService } from "./avatars.service.js";
import { readUploadedFile } from "./multipart.js";

/** Each upload gets a new id, so a served avatar never changes under its URL. */
const CACHE_FOREVER = "public, max-age=31536000, immutable";

/** The avatar's absolute URL as this request's client reaches the API (trust proxy applies). */
function avatarUrlFor(req: Request): (avatarId: string) => string {
  let origin: string;
  try {
    origin = new URL(`${req.protocol}://${req.host}`).origin;
  } catch {
    throw new AppError("VALIDATION_FAILED", "The Host header is missing or invalid.");
  }
  return (avatarId) => `${origin}${avatarPath(avatarId)}`;
}

export function avatarsRouter(deps: { avatars: AvatarsService; authenticate: Authenticate }) {
  const { avatars } = deps;
  const { router, mount } = contractRouter(deps.authenticate);
  mount("uploadAvatar", async ({ req, userId, appid, requestId }) => {
    const urlOf = avatarUrlFor(req);
    const bytes = await readUploadedFile(req, contract.uploadAvatar.upload);
    return avatars.upload({ userId, appid, requestId }, bytes, urlOf);
  });
  // Not through mount: the body is the image itself, not JSON.
  router.get(contract.getAvatar.path, async (req, res) => {
    const avatar = await avatars.find(String(req.params.avatarId));
    res.set({
      "Content-Type": avatar.contentType,
      "Content-Length": String(avatar.bytes.byteLength),
      "Cache-Control": CACHE_FOREVER,
      "X-Content-Type-Options": "nosniff",
      // helmet's default (same-origin) would stop the H5 app, served from another origin, showing it.
      "Cross-Origin-Resource-Policy": "cross-origin",
    });
    res.status(200).end(avatar.bytes);
  });
  return router;
}
