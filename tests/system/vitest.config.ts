import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // These tests spawn compilers and whole processes; two cores cannot run them side by side.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
