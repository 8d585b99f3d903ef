import type { Plugin } from "vite";

/**
 * uni-app's mp-weixin runtime preloads an image from DCloud's CDN three seconds after launch, with
 * the host spelled in char codes. A login product makes no third-party requests its users did not
 * ask for, so the call is compiled out. The build test fails if the runtime ever moves it.
 */
export function noVendorBeacon(): Plugin {
  return {
    name: "wxauth:no-vendor-beacon",
    enforce: "pre",
    transform(code, id) {
      if (!/@dcloudio[\\/]uni-mp-weixin[\\/]dist[\\/]uni\.mp\.esm\.js$/.test(id)) return null;
      const patched = code.replace("isFunction(wx.preloadAssets)", "false");
      if (patched === code) {
        this.error(
          "uni-mp-weixin no longer calls wx.preloadAssets where expected: update this plugin",
        );
      }
      return { code: patched, map: null };
    },
  };
}
