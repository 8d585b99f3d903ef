/**
 * The secrets the database keeps sealed (with @wxauth/wechat's `Sealer`, keyed from JWT_SECRET):
 * one label, hence one key, per kind.
 */
export const AT_REST_LABELS = {
  wechatSessionKey: "wechat-session-key",
  refreshTokenSuccessor: "refresh-token-successor",
} as const;
