import type { Request } from "express";
import type { SignedIn } from "../auth/sessions.js";
import { AppError } from "../errors.js";

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** Checks an access token: its signature and lifetime, then that its session still stands. */
export type Authenticate = (accessToken: string) => Promise<SignedIn>;

/** The signed-in user of `Authorization: Bearer <accessToken>`; 401 UNAUTHORIZED without one. */
export function authenticatedUser(req: Request, authenticate: Authenticate): Promise<SignedIn> {
  const header = req.headers.authorization;
  const match = header === undefined ? null : BEARER.exec(header);
  if (!match?.[1]) {
    throw new AppError("UNAUTHORIZED", header ? "Expected a Bearer token." : undefined);
  }
  return authenticate(match[1]);
}
