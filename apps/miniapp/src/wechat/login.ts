import { WechatLoginError } from "./errors";
// #ifdef H5
import { sandboxLoginCode } from "./dev/sandbox";
// #endif

let loginCodeSource: () => Promise<string>;

// #ifdef MP-WEIXIN
loginCodeSource = () =>
  new Promise((resolve, reject) => {
    uni.login({
      provider: "weixin",
      success: ({ code, errMsg }) =>
        code ? resolve(code) : reject(new WechatLoginError(errMsg || "wx.login gave no code")),
      fail: ({ errMsg }) => reject(new WechatLoginError(errMsg)),
    });
  });
// #endif

// #ifdef H5
// No WeChat in a browser: the sandbox mints the code for this browser's test openid.
loginCodeSource = sandboxLoginCode;
// #endif

/** A one-time WeChat login code for POST /api/auth/wechat/login. */
export function getLoginCode(): Promise<string> {
  return loginCodeSource();
}
