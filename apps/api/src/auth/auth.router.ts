import type { Response } from "express";
import type { Authenticate } from "../http/authenticate.js";
import { clientOf, contractRouter } from "../http/contract-route.js";
import type { AccessTokens } from "./access-tokens.js";
import type { AuthService } from "./auth.service.js";
import type { Sessions } from "./sessions.js";

export function authRouter(deps: {
  auth: AuthService;
  sessions: Sessions;
  accessTokens: AccessTokens;
  authenticate: Authenticate;
}) {
  const { auth, sessions, accessTokens } = deps;
  const { router, mount } = contractRouter(deps.authenticate);
  // The app a sign-in concerns labels its metrics (metrics-middleware.ts).
  const reportingApp = (res: Response) => (name: string) => {
    res.locals.app = name;
  };
  mount("wechatLogin", ({ body, requestId, res }) =>
    auth.login(body.appid, body.code, {
      device: body.device,
      requestId,
      reportApp: reportingApp(res),
    }),
  );
  mount("wechatRegister", ({ body, requestId, res }) => {
    const context = { device: body.device, requestId, reportApp: reportingApp(res) };
    return "phoneCode" in body
      ? auth.register(body.registrationTicket, body.phoneCode, context)
      : auth.registerWithSmsCode(body.registrationTicket, body.phone, body.smsCode, context);
  });
  mount("sendRegistrationSms", ({ body, req }) =>
    auth.sendRegistrationSms(body.registrationTicket, body.phone, clientOf(req)),
  );
  mount("refreshSession", ({ body, requestId }) => sessions.refresh(body.refreshToken, requestId));
  mount("logout", ({ body, requestId }) => sessions.logout(body.refreshToken, requestId));
  mount("listSessions", async ({ userId, sessionId }) => ({
    sessions: await sessions.list({ userId, sessionId }),
  }));
  mount("revokeSession", ({ req, requestId, userId }) =>
    sessions.revoke(userId, String(req.params.sessionId), requestId),
  );
  mount("revokeAllSessions", ({ requestId, userId }) => sessions.revokeAll(userId, requestId));
  // Other services verify access tokens with these keys (RS256/ES256; empty for HS256).
  router.get("/.well-known/jwks.json", (_req, res) => {
    res.setHeader("Cache-Control", "public, max-age=300");
    res.json(accessTokens.jwks());
  });
  return router;
}
