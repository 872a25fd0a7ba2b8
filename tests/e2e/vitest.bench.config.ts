import { defineConfig } from "vitest/config";

// The desktop benchmark (scripts/bench-desktop): one long run, not a test.
export default defineConfig({
  test: {
    include: ["bench/**/*.bench.ts"],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
