import { useJitlessValidation } from "@wxauth/contracts";
import { createPinia } from "pinia";
import { createSSRApp } from "vue";
import App from "./App.vue";

// Before any schema parses: WeChat's runtime forbids `new Function`, zod's fast path.
useJitlessValidation();

export function createApp() {
  const app = createSSRApp(App);
  app.use(createPinia());
  return { app };
}
