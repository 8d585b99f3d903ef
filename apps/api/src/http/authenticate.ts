import type { Request } from "express";
import type { AccessTokens } from "../auth/access-tokens.js";
import { AppError } from "../errors.js";

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The user id from `Authorization: Bearer <accessToken>`; 401 UNAUTHORIZED without a valid one. */
export function authenticatedUser(req: Request, accessTokens: AccessTokens): string {
  const header = req.headers.authorization;
  const match = header === undefined ? null : BEARER.exec(header);
  if (!match?.[1]) {
    throw new AppError("UNAUTHORIZED", header ? "Expected a Bearer token." : undefined);
  }
  return accessTokens.verify(match[1]);
}
