export { getLoginCode } from "./login";
export { WechatLoginError } from "./errors";
export { default as PhoneButton } from "./PhoneButton.vue";
export * from "./phone";
