export { getLoginCode } from "./login";
export { WechatLoginError } from "./errors";
export * from "./phone";
