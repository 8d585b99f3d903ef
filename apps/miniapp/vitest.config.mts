import { createRequire } from "node:module";
import { defineConfig, type Plugin } from "vitest/config";

const require = createRequire(import.meta.url);
const { preprocess } = require("@dcloudio/uni-cli-shared/lib/preprocess") as {
  preprocess: (code: string, context: Record<string, boolean>, options: { type: "js" }) => string;
};

/**
 * Applies uni-app's conditional compilation (`// #ifdef H5` ...) to the app's sources, as the
 * uni build does, so a unit test runs exactly one platform's code.
 */
function uniPlatform(platform: "H5" | "MP_WEIXIN"): Plugin {
  return {
    name: `wxauth:uni-platform-${platform}`,
    enforce: "pre",
    transform(code, id) {
      if (!/\/src\/.*\.ts$/.test(id) || !code.includes("#ifdef")) return;
      return { code: preprocess(code, { [platform]: true }, { type: "js" }), map: null };
    },
  };
}

export default defineConfig({
  test: {
    // The browser and simulator journeys share one API and sandbox, and CI machines have few cores.
    fileParallelism: false,
    projects: [
      {
        plugins: [uniPlatform("H5")],
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "build/**/*.test.ts"],
          exclude: ["src/**/*.mp-weixin.test.ts"],
        },
      },
      {
        plugins: [uniPlatform("MP_WEIXIN")],
        test: { name: "unit-mp-weixin", include: ["src/**/*.mp-weixin.test.ts"] },
      },
      {
        test: {
          name: "e2e",
          include: ["e2e/**/*.test.ts"],
          globalSetup: ["e2e/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
