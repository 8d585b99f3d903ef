import uni from "@dcloudio/vite-plugin-uni";
import { defineConfig, loadEnv, type Plugin } from "vite";

const PROJECT_CONFIG = "project.config.json";

/**
 * uni-app writes project.config.json from manifest.json, which is static JSON. The appid must come
 * from the environment instead (a real appid is per developer), so it is patched into the emitted
 * file; without one WeChat DevTools opens the package as a tourist.
 */
function wechatAppidFromEnv(appid: string | undefined): Plugin {
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

export default defineConfig(({ mode }) => {
  const env = { ...loadEnv(mode, process.cwd(), "VITE_"), ...process.env };
  return {
    plugins: [uni(), wechatAppidFromEnv(env.VITE_WECHAT_APPID)],
    server: { port: 5173, strictPort: true },
  };
});
