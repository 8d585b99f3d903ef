import uni from "@dcloudio/vite-plugin-uni";
import { defineConfig, loadEnv } from "vite";
import { noRouteSummaries } from "./build/no-route-summaries";
import { noVendorBeacon } from "./build/no-vendor-beacon";
import { phoneVerificationFromEnv } from "./build/phone-verification";
import { wechatAppidFromEnv } from "./build/wechat-appid";

export default defineConfig(({ mode }) => {
  const env = {
    ...loadEnv(mode, process.cwd(), ["VITE_", "PHONE_VERIFICATION"]),
    ...process.env,
  };
  return {
    plugins: [
      noVendorBeacon(),
      noRouteSummaries(),
      uni(),
      wechatAppidFromEnv(env.VITE_WECHAT_APPID),
    ],
    // uni-app resolves with preserveSymlinks, so zod reached through the linked @wxauth/contracts
    // and zod imported here would be two copies in the bundle; dedupe makes them one.
    resolve: { dedupe: ["zod"] },
    // A build-time constant, so the way a build does not offer is compiled out of the package.
    define: {
      __PHONE_VERIFICATION__: JSON.stringify(phoneVerificationFromEnv(env.PHONE_VERIFICATION)),
    },
    // `pnpm dev` moves the port with DEV_H5_PORT; the API allows this origin through CORS_ORIGINS.
    server: { port: Number(env.DEV_H5_PORT ?? 5173), strictPort: true },
  };
});
