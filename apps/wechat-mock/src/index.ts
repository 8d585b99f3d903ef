export {
  ACCESS_TOKEN_TTL_S,
  CODE_TTL_MS,
  DEVTOOLS_OPENID,
  MEDIA_CHECK_DELAY_MS,
  REPLACED_TOKEN_GRACE_MS,
  SANDBOX_APPID,
  SANDBOX_SECRET,
  SANDBOX_SECOND_APPID,
  SANDBOX_SECOND_SECRET,
  SANDBOX_SMS,
  SANDBOX_SMS_DAILY_LIMIT_PREFIX,
} from "./constants.js";
export {
  createSandbox,
  startSandbox,
  type RunningSandbox,
  type Sandbox,
  type SandboxOptions,
  type StartSandboxOptions,
} from "./sandbox.js";
export type { SandboxState, SmsRecord } from "./state.js";
export type { SmsCredentials } from "./tencent-sms.js";
export { DEFAULT_SANDBOX_APPS, originalIdOf, type PushSettings, type SandboxApps } from "./apps.js";
export { personOpenid, personUnionid } from "./state.js";
