import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts", "testing/index": "src/testing/index.ts" },
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  splitting: true,
  treeshake: true,
  // p-retry 7 is ESM-only: bundle it into the CJS output so require() works;
  // the ESM build keeps it as a normal import.
  noExternal: [],
});
