import type { Authenticated, ErrorBody, ErrorCode, Me, User } from "@wxauth/contracts";
import { errorCatalog } from "@wxauth/contracts";

export const user: User = {
  id: "usr_01",
  phone: "+8613800138000",
  nickname: null,
  avatarUrl: null,
  createdAt: "2026-11-20T08:00:00.000Z",
  deletionScheduledAt: null,
};

/**
 * GET /api/me's answer: the user, the API's deletion cooling-off (7 days) and the mini programs
 * the account is linked to.
 */
export const me: Me = {
  ...user,
  deletionCoolingOff: 7 * 86_400,
  identities: [{ appid: "wx-this-app", name: "shop", createdAt: "2026-11-20T08:00:00.000Z" }],
  avatarRemovedAt: null,
};

/** A login or registration answer: a new session's credentials. */
export function authenticated(generation = 1): Authenticated {
  return {
    status: "authenticated",
    accessToken: `access-token-${generation}`,
    refreshToken: `refresh-token-0000-${generation}`,
    expiresIn: 900,
    user,
  };
}

export function errorBody(code: ErrorCode): { statusCode: number; data: ErrorBody } {
  const entry = errorCatalog[code];
  return {
    statusCode: entry.status,
    data: {
      error: { code, message: entry.message.en, retryable: entry.retryable, requestId: "req-1" },
    },
  };
}
