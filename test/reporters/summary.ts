import type { Reporter, SerializedError, TestModule, Vitest } from "vitest/node";

/**
 * Prints one plain last line, `N passed, N failed` (and `, N skipped` when
 * some were), for scripts and CI logs that grep a run's result. A test file
 * that failed outside any test (an import error, a failing hook) counts as one
 * failure, and so does each unhandled error, so a red run never reads
 * `0 failed`.
 */
export default class SummaryReporter implements Reporter {
  #vitest: Vitest | undefined;

  onInit(vitest: Vitest): void {
    this.#vitest = vitest;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const module of testModules) {
      let failedTests = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failedTests++;
        else if (state === "skipped") skipped++;
      }
      failed += failedTests;
      if (failedTests === 0 && (module.errors().length > 0 || module.state() === "failed")) failed++;
    }
    const line = `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`;
    if (this.#vitest) this.#vitest.logger.log(line);
    else process.stdout.write(`${line}\n`);
  }
}
