import { defineConfig } from "vitest/config";

// One app window at a time: specs share the display and the database, and
// each spec file drives a single WebDriver session through all its tests.
export default defineConfig({
  test: {
    include: ["specs/**/*.spec.ts"],
    fileParallelism: false,
    sequence: { concurrent: false },
    testTimeout: 60_000,
    hookTimeout: 90_000,
    reporters: ["default"],
  },
});
