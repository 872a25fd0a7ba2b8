import { BaseSequencer, type TestSpecification } from "vitest/node";
import { defineConfig } from "vitest/config";

// Spec files in name order everywhere. vitest's default orders by the
// durations it cached from earlier runs, so a clean CI clone and a worked-in
// checkout would run the specs in different orders.
class ByName extends BaseSequencer {
  async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
  }
}

// One app window at a time: specs share the display and the database, and
// each spec file drives a single WebDriver session through all its tests.
export default defineConfig({
  test: {
    include: ["specs/**/*.spec.ts"],
    fileParallelism: false,
    sequence: { concurrent: false, sequencer: ByName },
    testTimeout: 60_000,
    hookTimeout: 90_000,
    reporters: ["default"],
  },
});
