export {
  ACCESS_TOKEN_TTL_S,
  CODE_TTL_MS,
  DEVTOOLS_OPENID,
  REPLACED_TOKEN_GRACE_MS,
  SANDBOX_APPID,
  SANDBOX_SECRET,
} from "./constants.js";
export {
  createSandbox,
  startSandbox,
  type RunningSandbox,
  type Sandbox,
  type SandboxOptions,
  type StartSandboxOptions,
} from "./sandbox.js";
export type { SandboxState } from "./state.js";
