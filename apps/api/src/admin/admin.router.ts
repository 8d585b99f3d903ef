import { OPERATOR_SESSION_COOKIE } from "@wxauth/contracts/admin";
import type { CookieOptions, Response } from "express";
import { adminContractRouter } from "./admin-route.js";
import type { AdminService } from "./admin.service.js";
import type { Operators } from "./operators.service.js";

/**
 * The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends
 * it), Secure in production, and scoped to /api/admin, so it never travels with an end-user
 * request. No Max-Age: the browser forgets it when it closes, and the server ends it after 30
 * idle minutes, or 12 hours after sign-in, anyway.
 */
function cookieOptions(secure: boolean): CookieOptions {
  return { httpOnly: true, sameSite: "strict", secure, path: "/api/admin" };
}

export function adminRouter(deps: {
  operators: Operators;
  admin: AdminService;
  config: { nodeEnv: string };
}) {
  const { operators, admin } = deps;
  const secure = deps.config.nodeEnv === "production";
  const { router, mount } = adminContractRouter(operators);
  const setSessionCookie = (res: Response, token: string) =>
    res.cookie(OPERATOR_SESSION_COOKIE, token, cookieOptions(secure));

  mount("signInOperator", async ({ body, res, address, requestId }) => {
    const signedIn = await operators.signIn(body.name, body.password, address);
    setSessionCookie(res, signedIn.token);
    await admin.recordOwnAction(
      { name: signedIn.operator.name, address, requestId },
      "operator_signed_in",
    );
    return operators.sessionBody(signedIn);
  });
  mount("getOperatorSession", async ({ operator }) => operators.sessionBody(operator));
  mount("signOutOperator", async ({ operator, actor, res }) => {
    await operators.signOut(operator);
    res.clearCookie(OPERATOR_SESSION_COOKIE, cookieOptions(secure));
    await admin.recordOwnAction(actor, "operator_signed_out");
  });
  mount("changeOperatorPassword", async ({ operator, actor, body }) => {
    const session = await operators.changePassword(
      operator,
      body.currentPassword,
      body.newPassword,
    );
    await admin.recordOwnAction(actor, "operator_password_changed");
    return session;
  });
  mount("searchUsers", ({ query }) => admin.searchUsers(query.query, query.cursor));
  mount("getUser", ({ params }) => admin.getUser(params.userId ?? ""));
  mount("revealUserPhone", ({ actor, params }) => admin.revealPhone(actor, params.userId ?? ""));
  mount("banUser", ({ actor, params, body }) => admin.ban(actor, params.userId ?? "", body));
  mount("unbanUser", ({ actor, params }) => admin.unban(actor, params.userId ?? ""));
  mount("revokeUserSession", ({ actor, params }) =>
    admin.revokeSession(actor, params.userId ?? "", params.sessionId ?? ""),
  );
  mount("revokeAllUserSessions", ({ actor, params }) =>
    admin.revokeAllSessions(actor, params.userId ?? ""),
  );
  mount("listScheduledDeletions", () => admin.listScheduledDeletions());
  mount("getSpend", ({ query }) => admin.spend(query.days));
  mount("listAuditEntries", ({ query }) => admin.listAudit(query.cursor));
  return router;
}
