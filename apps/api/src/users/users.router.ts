import { Router } from "express";
import type { AccessTokens } from "../auth/access-tokens.js";
import { AppError } from "../errors.js";
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
    async ({ body, res }) => {
      // Binding by SMS code arrives with the SMS codes service.
      if (!("phoneCode" in body)) throw new AppError("SMS_UNAVAILABLE");
      return users.bindPhone(signedInUser(res), body.phoneCode);
    },
    signedIn,
  );
  return router;
}
