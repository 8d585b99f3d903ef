import { currentDevice } from "../account/device";
import { api } from "../api";
import { useAuthStore } from "../stores/auth";
import { currentAppid, getLoginCode } from "../wechat";
import { createLoginFlow } from "./login-flow";

export { phoneVerification } from "./phone-verification";

/** The app's one login flow: its state (ticket, a refusal) lasts for the launch. */
export const loginFlow = createLoginFlow({
  getLoginCode,
  appid: currentAppid,
  wechatLogin: api.wechatLogin,
  wechatRegister: api.wechatRegister,
  sendRegistrationSms: api.sendRegistrationSms,
  signedIn: (session) => useAuthStore().startSession(session),
  device: currentDevice,
  now: Date.now,
});
