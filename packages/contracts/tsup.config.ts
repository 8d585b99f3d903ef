import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/openapi.ts", "src/sandbox.ts", "src/admin.ts"],
  format: ["esm"],
  target: "es2019",
  dts: true,
  clean: true,
  sourcemap: true,
  // No chunk shared between the entries: openapi.ts's `import * as schemas` made the shared chunk
  // build a namespace object of every schema, which the mini program's package then carried (and
  // with it every schema, used or not), about 0.8 KB of its 150 KB. Each entry is whole instead;
  // openapi.js has its own copy of the route table, which is all it reads.
  splitting: false,
});
