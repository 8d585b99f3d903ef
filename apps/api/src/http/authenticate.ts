import type { RequestHandler, Response } from "express";
import type { AccessTokens } from "../auth/access-tokens.js";
import { AppError } from "../errors.js";

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** Requires `Authorization: Bearer <accessToken>`; the user id is then `signedInUser(res)`. */
export function authenticate(accessTokens: AccessTokens): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization;
    const match = header === undefined ? null : BEARER.exec(header);
    if (!match?.[1]) {
      throw new AppError("UNAUTHORIZED", header ? "Expected a Bearer token." : undefined);
    }
    res.locals.userId = accessTokens.verify(match[1]);
    next();
  };
}

export function signedInUser(res: Response): string {
  const userId: unknown = res.locals.userId;
  if (typeof userId !== "string") throw new AppError("UNAUTHORIZED");
  return userId;
}
