import { Sealer, type DataKey } from "@wxauth/wechat";

/**
 * The secrets the database keeps sealed (with @wxauth/wechat's `Sealer`, under the data key ring,
 * DATA_KEYS): one label, hence one derived key, per kind.
 */
export const AT_REST_LABELS = {
  wechatSessionKey: "wechat-session-key",
  refreshTokenSuccessor: "refresh-token-successor",
} as const;

/** One sealer per kind of secret, over the data key ring. */
export function createAtRestSealers(dataKeys: readonly DataKey[]) {
  return {
    wechatSessionKey: new Sealer(dataKeys, AT_REST_LABELS.wechatSessionKey),
    refreshTokenSuccessor: new Sealer(dataKeys, AT_REST_LABELS.refreshTokenSuccessor),
  };
}

export type AtRestSealers = ReturnType<typeof createAtRestSealers>;
