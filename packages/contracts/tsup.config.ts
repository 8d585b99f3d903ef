import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/openapi.ts", "src/sandbox.ts", "src/admin.ts"],
  format: ["esm"],
  target: "es2019",
  dts: true,
  clean: true,
  sourcemap: true,
});
