import type { AccessTokens } from "../auth/access-tokens.js";
import { AppError } from "../errors.js";
import { contractRouter } from "../http/contract-route.js";
import type { UsersService } from "./users.service.js";

export function usersRouter(deps: { users: UsersService; accessTokens: AccessTokens }) {
  const { users } = deps;
  const { router, mount } = contractRouter(deps.accessTokens);
  mount("getMe", ({ userId }) => users.getMe(userId));
  mount("updateMe", ({ body, userId }) => users.updateMe(userId, body));
  mount("bindPhone", async ({ body, userId }) => {
    // Binding by SMS code arrives with the SMS codes service.
    if (!("phoneCode" in body)) throw new AppError("SMS_UNAVAILABLE");
    return users.bindPhone(userId, body.phoneCode);
  });
  return router;
}
