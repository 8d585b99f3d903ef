export { getLoginCode } from "./login";
export { WechatLoginError } from "./errors";
export * from "./phone";
export { phoneButtonSupported } from "./phone-support";
export { readSentSmsCode } from "./sms";
