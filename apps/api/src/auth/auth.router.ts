import { Router } from "express";
import { AppError } from "../errors.js";
import { mountRoute } from "../http/contract-route.js";
import { sendJson } from "../http/json-response.js";
import type { AccessTokens } from "./access-tokens.js";
import type { AuthService } from "./auth.service.js";
import type { Sessions } from "./sessions.js";

export function authRouter(deps: {
  auth: AuthService;
  sessions: Sessions;
  accessTokens: AccessTokens;
}) {
  const { auth, sessions, accessTokens } = deps;
  const router = Router();
  mountRoute(router, "wechatLogin", ({ body }) => auth.login(body.code));
  mountRoute(router, "wechatRegister", async ({ body }) => {
    // Registration by SMS code arrives with the SMS codes service.
    if (!("phoneCode" in body)) throw new AppError("SMS_UNAVAILABLE");
    return auth.register(body.registrationTicket, body.phoneCode);
  });
  mountRoute(router, "refreshSession", ({ body }) => sessions.refresh(body.refreshToken));
  mountRoute(router, "logout", ({ body }) => sessions.logout(body.refreshToken));
  // Other services verify access tokens with these keys (RS256/ES256; empty for HS256).
  router.get("/.well-known/jwks.json", (_req, res) => {
    res.setHeader("Cache-Control", "public, max-age=300");
    sendJson(res, 200, accessTokens.jwks());
  });
  return router;
}
