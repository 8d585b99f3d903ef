import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/main.ts"],
  format: ["esm"],
  target: "node20",
  platform: "node",
  clean: true,
  sourcemap: true,
  // Workspace packages are bundled as source-built dist; real dependencies stay in node_modules.
  noExternal: [/^@wxauth\//],
});
