/// <reference types="vite/client" />

declare module "*.vue" {
  import type { DefineComponent } from "vue";
  const component: DefineComponent<object, object, unknown>;
  export default component;
}

interface ImportMetaEnv {
  /** Origin of the wxauth API, e.g. https://api.example.com (default http://localhost:3000). */
  readonly VITE_API_BASE_URL?: string;
  /** Origin of the WeChat sandbox whose dev controls the H5 bridge uses (default http://localhost:3100). */
  readonly VITE_WECHAT_SANDBOX_URL?: string;
  /** The mini program's appid, written into project.config.json (default touristappid). */
  readonly VITE_WECHAT_APPID?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}

/** PHONE_VERIFICATION at build time: the ways of verifying a phone the app offers. */
declare const __PHONE_VERIFICATION__: "button" | "sms" | "both";
