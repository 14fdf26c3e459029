import { defineConfig, type Options } from "tsup";

/**
 * Runtime dependencies that are ESM-only. The CJS build cannot `require()`
 * them on Node 20, so it bundles them (and their own dependencies); the ESM
 * build keeps them as normal imports, deduplicated by the user's installer.
 */
const ESM_ONLY = ["p-retry", "is-network-error"];

const common: Options = {
  entry: { index: "src/index.ts", "testing/index": "src/testing/index.ts" },
  target: "node20",
  platform: "node",
  sourcemap: true,
  // Shared chunks keep one copy of each class per format, so an error thrown
  // by `switchyard` is an instance of the class `switchyard/testing` sees.
  splitting: true,
  treeshake: true,
  // The two configs build concurrently: a clean in either would race with the
  // other's output. `npm run build` empties dist/ before tsup runs.
  clean: false,
};

export default defineConfig([
  // stripInternal: members marked @internal (the table's mutators) stay out of the published types.
  { ...common, format: ["esm"], dts: { compilerOptions: { stripInternal: true } } },
  {
    ...common,
    format: ["cjs"],
    noExternal: ESM_ONLY,
    // The .d.cts cannot inline their types (tsup keeps every dependency's
    // types external), and a .d.cts that imports an ESM-only package's types
    // fails for CommonJS consumers (TS1479): keep p-retry's types out of the
    // public API. test/package/dist.test.ts type-checks both builds.
    dts: { compilerOptions: { stripInternal: true } },
  },
]);
