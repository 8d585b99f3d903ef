import type { AccessTokens } from "../auth/access-tokens.js";
import { clientOf, contractRouter } from "../http/contract-route.js";
import type { UsersService } from "./users.service.js";

export function usersRouter(deps: { users: UsersService; accessTokens: AccessTokens }) {
  const { users } = deps;
  const { router, mount } = contractRouter(deps.accessTokens);
  mount("getMe", ({ userId }) => users.getMe(userId));
  mount("updateMe", ({ body, userId }) => users.updateMe(userId, body));
  mount("sendPhoneChangeSms", ({ body, userId, req }) =>
    users.sendPhoneChangeSms(userId, body.phone, clientOf(req)),
  );
  mount("bindPhone", ({ body, userId, req }) => users.bindPhone(userId, body, clientOf(req)));
  return router;
}
