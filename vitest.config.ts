import { defineConfig } from "vitest/config";
import SummaryReporter from "./test/reporters/summary.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // System tests spawn a real server (dnsmasq): keep files in separate
    // processes so a crash in one cannot take the others with it.
    pool: "forks",
    // The default output, then one plain `N passed, N failed` line at the end.
    reporters: ["default", new SummaryReporter()],
  },
});
