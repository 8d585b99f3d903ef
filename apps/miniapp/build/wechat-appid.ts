import type { Plugin } from "vite";

const PROJECT_CONFIG = "project.config.json";

/**
 * uni-app writes project.config.json from manifest.json, which is static JSON. The appid must come
 * from the environment instead (a real appid is per developer), so it is patched into the emitted
 * file; without one WeChat DevTools opens the package with the tourist appid.
 */
export function wechatAppidFromEnv(appid: string | undefined): Plugin {
  return {
    name: "wxauth:wechat-appid",
    enforce: "post",
    generateBundle(_options, bundle) {
      const projectConfig = bundle[PROJECT_CONFIG];
      if (!appid || projectConfig?.type !== "asset") return;
      const json = JSON.parse(String(projectConfig.source)) as Record<string, unknown>;
      projectConfig.source = JSON.stringify({ ...json, appid }, null, 2);
    },
  };
}
