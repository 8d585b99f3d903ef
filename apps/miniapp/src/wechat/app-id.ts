/**
 * The WeChat sandbox's first app (SANDBOX_APPID of @wxauth/contracts/sandbox, checked by
 * app-id.test.ts), written out so the mp-weixin package does not import the sandbox module.
 */
export const SANDBOX_APPID = "wxsandbox0000000001";

/** What WeChat DevTools reports without a real appid: no WeChat server knows it, only the sandbox. */
const TOURIST_APPID = "touristappid";

/**
 * The appid of this mini program, sent with every login so the API asks the right app's WeChat
 * (an API may serve several mini programs). In mp-weixin, the running app's own; in H5 (no
 * WeChat: the sandbox mints the codes) VITE_WECHAT_APPID or the sandbox's first app.
 */
export function currentAppid(): string {
  let appid: string;
  // #ifdef MP-WEIXIN
  appid = uni.getAccountInfoSync().miniProgram.appId;
  // #endif
  // #ifdef H5
  appid = import.meta.env.VITE_WECHAT_APPID ?? "";
  // #endif
  return appid && appid !== TOURIST_APPID ? appid : SANDBOX_APPID;
}
