export { getLoginCode } from "./login";
export { currentAppid } from "./app-id";
export { WechatLoginError } from "./errors";
export * from "./phone";
export { phoneButtonSupported } from "./phone-support";
export { readSentSmsCode } from "./sms";
