import { clientOf, contractRouter } from "../http/contract-route.js";
import type { AccessTokens } from "./access-tokens.js";
import type { AuthService } from "./auth.service.js";
import type { Sessions } from "./sessions.js";

export function authRouter(deps: {
  auth: AuthService;
  sessions: Sessions;
  accessTokens: AccessTokens;
}) {
  const { auth, sessions, accessTokens } = deps;
  const { router, mount } = contractRouter(accessTokens);
  mount("wechatLogin", ({ body }) => auth.login(body.code));
  mount("wechatRegister", ({ body, req }) =>
    "phoneCode" in body
      ? auth.register(body.registrationTicket, body.phoneCode)
      : auth.registerWithSmsCode(body.registrationTicket, body.phone, body.smsCode, clientOf(req)),
  );
  mount("sendRegistrationSms", ({ body, req }) =>
    auth.sendRegistrationSms(body.registrationTicket, body.phone, clientOf(req)),
  );
  mount("refreshSession", ({ body }) => sessions.refresh(body.refreshToken));
  mount("logout", ({ body }) => sessions.logout(body.refreshToken));
  // Other services verify access tokens with these keys (RS256/ES256; empty for HS256).
  router.get("/.well-known/jwks.json", (_req, res) => {
    res.setHeader("Cache-Control", "public, max-age=300");
    res.json(accessTokens.jwks());
  });
  return router;
}
