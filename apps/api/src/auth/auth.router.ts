import { contractRouter } from "../http/contract-route.js";
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
  mount("wechatRegister", ({ body }) => auth.register(body.registrationTicket, body.phoneCode));
  mount("refreshSession", ({ body }) => sessions.refresh(body.refreshToken));
  mount("logout", ({ body }) => sessions.logout(body.refreshToken));
  // Other services verify access tokens with these keys (RS256/ES256; empty for HS256).
  router.get("/.well-known/jwks.json", (_req, res) => {
    res.setHeader("Cache-Control", "public, max-age=300");
    res.json(accessTokens.jwks());
  });
  return router;
}
