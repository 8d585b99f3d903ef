import type { AccessTokens } from "../auth/access-tokens.js";
import { contractRouter } from "../http/contract-route.js";
import type { UsersService } from "./users.service.js";

export function usersRouter(deps: { users: UsersService; accessTokens: AccessTokens }) {
  const { users } = deps;
  const { router, mount } = contractRouter(deps.accessTokens);
  mount("getMe", ({ userId }) => users.getMe(userId));
  mount("updateMe", ({ body, userId }) => users.updateMe(userId, body));
  mount("bindPhone", ({ body, userId }) => users.bindPhone(userId, body.phoneCode));
  return router;
}
