import { Router } from "express";
import type { AccessTokens } from "../auth/access-tokens.js";
import { authenticate, signedInUser } from "../http/authenticate.js";
import { mountRoute } from "../http/contract-route.js";
import type { UsersService } from "./users.service.js";

export function usersRouter(deps: { users: UsersService; accessTokens: AccessTokens }) {
  const { users } = deps;
  const router = Router();
  const signedIn = authenticate(deps.accessTokens);
  mountRoute(router, "getMe", ({ res }) => users.getMe(signedInUser(res)), signedIn);
  mountRoute(
    router,
    "updateMe",
    ({ body, res }) => users.updateMe(signedInUser(res), body),
    signedIn,
  );
  mountRoute(
    router,
    "bindPhone",
    ({ body, res }) => users.bindPhone(signedInUser(res), body.phoneCode),
    signedIn,
  );
  return router;
}
