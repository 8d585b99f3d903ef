import type { Authenticate } from "../http/authenticate.js";
import { contractRouter } from "../http/contract-route.js";
import type { AccountDeletion } from "./account-deletion.js";
import type { UsersService } from "./users.service.js";

export function usersRouter(deps: {
  users: UsersService;
  accountDeletion: AccountDeletion;
  authenticate: Authenticate;
}) {
  const { users, accountDeletion } = deps;
  const { router, mount } = contractRouter(deps.authenticate);
  mount("getMe", ({ userId }) => users.getMe(userId));
  mount("updateMe", ({ body, userId }) => users.updateMe(userId, body));
  mount("bindPhone", ({ body, userId }) => users.bindPhone(userId, body.phoneCode));
  mount("requestDeletion", ({ requestId, userId }) => accountDeletion.request(userId, requestId));
  mount("cancelDeletion", ({ requestId, userId }) => accountDeletion.cancel(userId, requestId));
  return router;
}
