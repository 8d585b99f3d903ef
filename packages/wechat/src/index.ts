export type * from "./types.js";
export { WechatClient, DEFAULT_BASE_URL } from "./client.js";
export { AccessTokenManager, type AccessTokenManagerOptions } from "./access-token.js";
export { CodeMemo, type CodeMemoOptions } from "./code-memo.js";
export { MemoryStore, type MemoryStoreOptions } from "./memory-store.js";
export {
  Sealer,
  DATA_KEY_BYTES,
  DATA_KEY_ID_PATTERN,
  LEGACY_KEY_ID,
  dataKeyFromSecret,
  deriveKey,
  type DataKey,
} from "./sealing.js";
export {
  WechatApiError,
  type WechatApiErrorInit,
  isAccessTokenErrcode,
  isConfigErrcode,
  isDefinitiveCodeErrcode,
  parseRid,
} from "./errors.js";
export { callOutcomeOf } from "./observer.js";
export {
  PUSH_MAX_AGE_S,
  WechatPush,
  WechatPushError,
  aesKeyOf,
  decryptPushMessage,
  encryptPushMessage,
  parsePushEvent,
  pushSignature,
  type MediaCheckEvent,
  type PushQuery,
  type PushRejection,
  type SealedPush,
  type UnknownPushEvent,
  type UserAuthorizationCancellationEvent,
  type UserAuthorizationRevokeEvent,
  type UserInfoModifiedEvent,
  type WechatPushEvent,
  type WechatPushOptions,
} from "./push.js";
