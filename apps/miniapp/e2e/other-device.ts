import {
  AuthenticatedSessionSchema,
  WechatLoginResponseSchema,
  type AuthenticatedSession,
  type Device,
} from "@wxauth/contracts";
import {
  SANDBOX_APPID,
  SandboxLoginCodeResponseSchema,
  sandboxRoutes,
} from "@wxauth/contracts/sandbox";

/**
 * The same WeChat user signing in on another phone, straight against the API: a second session
 * for the journeys that list, revoke or outlive sessions.
 */
export async function signInElsewhere(
  stack: { apiUrl: string; sandboxUrl: string },
  openid: string,
  device: Device,
): Promise<AuthenticatedSession> {
  const minted = await fetch(stack.sandboxUrl + sandboxRoutes.loginCode, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ openid }),
  });
  const { code } = SandboxLoginCodeResponseSchema.parse(await minted.json());
  const login = await fetch(`${stack.apiUrl}/api/auth/wechat/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    // The sandbox's first app, which the stack's API serves beside a second one.
    body: JSON.stringify({ code, appid: SANDBOX_APPID, device }),
  });
  const answer = WechatLoginResponseSchema.parse(await login.json());
  return AuthenticatedSessionSchema.parse(answer);
}

/** The status GET /api/me answers an access token with: 200 while its session lives. */
export async function meStatusWith(apiUrl: string, accessToken: string): Promise<number> {
  const response = await fetch(`${apiUrl}/api/me`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  await response.body?.cancel();
  return response.status;
}
