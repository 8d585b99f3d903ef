import type { AuthenticatedSession, ErrorBody, ErrorCode, Me, User } from "@wxauth/contracts";
import { errorCatalog } from "@wxauth/contracts";

export const user: User = {
  id: "usr_01",
  phone: "+8613800138000",
  nickname: null,
  avatarUrl: null,
  createdAt: "2026-11-20T08:00:00.000Z",
  deletionScheduledAt: null,
};

/** GET /api/me: the user and the mini programs their account is linked to. */
export const me: Me = {
  ...user,
  identities: [{ appid: "wx-this-app", name: "shop", createdAt: "2026-11-20T08:00:00.000Z" }],
  avatarRemovedAt: null,
};

export function session(generation = 1): AuthenticatedSession {
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
