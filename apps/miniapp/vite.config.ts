import uni from "@dcloudio/vite-plugin-uni";
import { defineConfig, loadEnv } from "vite";
import { wechatAppidFromEnv } from "./build/wechat-appid";

export default defineConfig(({ mode }) => {
  const env = { ...loadEnv(mode, process.cwd(), "VITE_"), ...process.env };
  return {
    plugins: [uni(), wechatAppidFromEnv(env.VITE_WECHAT_APPID)],
    server: { port: 5173, strictPort: true },
  };
});
