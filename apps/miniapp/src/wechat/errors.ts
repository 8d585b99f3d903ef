/** A failure of wx.login itself (no code), before any request to the API. */
export class WechatLoginError extends Error {
  override readonly name = "WechatLoginError";
}
