import type { Authenticate } from "../http/authenticate.js";
import { clientOf, contractRouter } from "../http/contract-route.js";
import type { AccountDeletion } from "./account-deletion.js";
import type { UsersService } from "./users.service.js";

export function usersRouter(deps: {
  users: UsersService;
  accountDeletion: AccountDeletion;
  authenticate: Authenticate;
}) {
  const { users, accountDeletion } = deps;
  const { router, mount } = contractRouter(deps.authenticate);
  mount("getMe", async ({ account }) => users.getMe(account));
  mount("updateMe", ({ body, userId, appid, requestId }) =>
    users.updateMe({ userId, appid, requestId }, body),
  );
  mount("sendPhoneChangeSms", ({ body, userId, req }) =>
    users.sendPhoneChangeSms(userId, body.phone, clientOf(req)),
  );
  mount("bindPhone", ({ body, userId, appid, req }) =>
    users.bindPhone({ userId, appid }, body, clientOf(req)),
  );
  mount("requestDeletion", ({ requestId, userId }) => accountDeletion.request(userId, requestId));
  mount("cancelDeletion", ({ requestId, userId }) => accountDeletion.cancel(userId, requestId));
  return router;
}
