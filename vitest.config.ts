import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // System tests spawn real servers (dnsmasq, etcd): keep files in separate
    // processes so a crash in one cannot take the others with it.
    pool: "forks",
  },
});
