import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vitest/config";

/**
 * `vite` serves the console at http://localhost:5174 and proxies /api to the API, so the operator
 * cookie (SameSite=Strict) is first-party; `vite build` writes dist/ for the API to serve at
 * /admin/. VITE_API_PROXY names the API's origin, else DEV_API_PORT its port on localhost.
 */
export default defineConfig(({ command, isPreview }) => ({
  base: command === "build" || isPreview ? "/admin/" : "/",
  plugins: [vue()],
  server: {
    port: Number(process.env.DEV_ADMIN_PORT ?? 5174),
    strictPort: true,
    proxy: {
      "/api": {
        target:
          process.env.VITE_API_PROXY ?? `http://localhost:${process.env.DEV_API_PORT ?? 3000}`,
      },
    },
  },
  build: { outDir: "dist", emptyOutDir: true },
  test: {
    projects: [
      { extends: true, test: { name: "unit", include: ["src/**/*.test.ts"] } },
      {
        extends: true,
        test: {
          name: "browser",
          include: ["e2e/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
}));
