import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as src from "../../src/index.js";
import * as srcTesting from "../../src/testing/index.js";

// These tests check the built package (`npm test` builds it first): what a
// user gets from `require("switchyard")` and `import "switchyard"` on the Node
// under test (`npm test` runs them under each supported major). The CommonJS
// build must work on Node 20, whose require() cannot load ES modules.
// consumer.test.ts does the same from the packed tarball in fresh projects.

const root = resolve(import.meta.dirname, "../..");
const dist = join(root, "dist");
const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
};

type Api = typeof src;
type TestingApi = typeof srcTesting;

/** The same three endpoints, 50/30/20, in every build. */
const HOSTS = [
  { host: "10.0.0.1", port: 80, weight: 50 },
  { host: "10.0.0.2", port: 80, weight: 30 },
  { host: "10.0.0.3", port: 80, weight: 20 },
];
/** First ten picks of a weighted round robin over HOSTS seeded with 42 (last octet). */
const WEIGHTED_FIRST_10 = "3111123123";
/** First six picks of round robin over three equal endpoints seeded with 42. */
const ROUND_ROBIN_FIRST_6 = ["10.0.0.3:80", "10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.1:80", "10.0.0.2:80"];

/** Uses one build of the package the way a user would, and returns what it saw. */
async function exercise(api: Api, testing: TestingApi) {
  const equal = api.createUpstream({
    name: "equal",
    resolver: api.staticResolver(["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]),
    random: testing.seededRandom(42),
  });
  await equal.ready();
  const roundRobin = Array.from({ length: 6 }, () => equal.pick().id);
  await equal.close();

  const resolver = api.staticResolver(HOSTS);
  const weighted = api.createUpstream({ name: "weighted", resolver, random: testing.seededRandom(42) });
  await weighted.ready();
  const lastOctets = Array.from({ length: 30 }, () => weighted.pick().host.split(".")[3]).join("");
  // Drain everything: the picker swap is synchronous, and pick() then throws.
  resolver.set(HOSTS.map((h) => ({ ...h, weight: 0 })));
  let noEndpoints: unknown;
  try {
    weighted.pick();
  } catch (e) {
    noEndpoints = e;
  }
  await weighted.close();

  const manual = new testing.ManualResolver();
  const viaManual = api.createUpstream({ name: "manual", resolver: manual });
  manual.push(["10.9.9.9:8080"]);
  const manualPick = viaManual.pick().id;
  await viaManual.close();
  let closed: unknown;
  try {
    viaManual.pick();
  } catch (e) {
    closed = e;
  }
  return { roundRobin, lastOctets, noEndpoints, closed, manual, manualPick };
}

function checkBuild(api: Api, testing: TestingApi, seen: Awaited<ReturnType<typeof exercise>>): void {
  expect(seen.roundRobin).toEqual(ROUND_ROBIN_FIRST_6);
  expect(seen.lastOctets.slice(0, 10)).toBe(WEIGHTED_FIRST_10);
  // One full cycle (3 buckets × Σweight/gcd = 30 picks) gives exactly 50/30/20.
  expect([...seen.lastOctets].filter((c) => c === "1").length).toBe(15);
  expect([...seen.lastOctets].filter((c) => c === "2").length).toBe(9);
  expect([...seen.lastOctets].filter((c) => c === "3").length).toBe(6);
  // Error classes: one identity per build, shared by both entry points.
  expect(seen.noEndpoints).toBeInstanceOf(api.NoEndpointsError);
  expect(seen.noEndpoints).toBeInstanceOf(api.SwitchyardError);
  expect(seen.noEndpoints).toBeInstanceOf(Error);
  expect((seen.noEndpoints as src.NoEndpointsError).code).toBe("ERR_NO_ENDPOINTS");
  expect((seen.noEndpoints as Error).name).toBe("NoEndpointsError");
  expect((seen.noEndpoints as Error).message).toBe(
    'upstream "weighted": no endpoint available (every endpoint has weight 0)',
  );
  expect(seen.closed).toBeInstanceOf(api.ClosedError);
  expect((seen.closed as src.ClosedError).code).toBe("ERR_CLOSED");
  expect(seen.manual).toBeInstanceOf(api.Resolver);
  expect(seen.manualPick).toBe("10.9.9.9:8080");
  expect(testing.seededRandom(1)).toBeInstanceOf(testing.SeededRandom);
  expect(api.MAX_WEIGHT).toBe(65535);
}

/** `require("x")` and `from "x"` specifiers in a built file. */
function specifiers(code: string): string[] {
  const out = new Set<string>();
  for (const m of code.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)) out.add(m[1] as string);
  for (const m of code.matchAll(/\b(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) out.add(m[1] as string);
  return [...out];
}

/** A dependency that cannot be `require()`d on Node 20: ESM-only, no `require` condition. */
function esmOnly(name: string): boolean {
  const manifest = JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8"));
  return manifest.type === "module" && !JSON.stringify(manifest.exports ?? {}).includes('"require"');
}

function builtFiles(ext: string): string[] {
  return (readdirSync(dist, { recursive: true }) as string[])
    .filter((f) => f.endsWith(ext) && !f.endsWith(".map"))
    .map((f) => join(dist, f));
}

describe("built package (dist/)", () => {
  beforeAll(() => {
    if (!existsSync(join(dist, "index.cjs"))) throw new Error("dist/ is missing: run `npm run build` first");
  });

  it("CommonJS: require() of dist/index.cjs and dist/testing/index.cjs works and behaves like src", async () => {
    const require = createRequire(import.meta.url);
    const api = require(join(dist, "index.cjs")) as Api;
    const testing = require(join(dist, "testing/index.cjs")) as TestingApi;
    checkBuild(api, testing, await exercise(api, testing));
    // The same scenario through the sources gives the same picks.
    const fromSrc = await exercise(src, srcTesting);
    const fromCjs = await exercise(api, testing);
    expect(fromCjs.roundRobin).toEqual(fromSrc.roundRobin);
    expect(fromCjs.lastOctets).toBe(fromSrc.lastOctets);
  });

  it("ESM: import() of dist/index.js and dist/testing/index.js works and behaves like src", async () => {
    const api = (await import(pathToFileURL(join(dist, "index.js")).href)) as Api;
    const testing = (await import(pathToFileURL(join(dist, "testing/index.js")).href)) as TestingApi;
    checkBuild(api, testing, await exercise(api, testing));
    // ESM and CJS are separate builds: separate class identities (the dual
    // package hazard). Within one build, both entry points share them.
    const require = createRequire(import.meta.url);
    const cjs = require(join(dist, "index.cjs")) as Api;
    expect(api.NoEndpointsError).not.toBe(cjs.NoEndpointsError);
    expect(new testing.ManualResolver()).toBeInstanceOf(api.Resolver);
    expect(new testing.ManualResolver()).not.toBeInstanceOf(cjs.Resolver);
  });

  it("every bare import in dist/ is a Node builtin or a declared dependency; CJS requires no ESM-only package", () => {
    const declared = Object.keys(pkg.dependencies);
    const bare = (s: string) => !s.startsWith(".") && !s.startsWith("/");
    const packageOf = (s: string) =>
      s
        .split("/")
        .slice(0, s.startsWith("@") ? 2 : 1)
        .join("/");
    const cjs = builtFiles(".cjs");
    const esm = builtFiles(".js");
    expect(cjs.length).toBeGreaterThanOrEqual(2);
    expect(esm.length).toBeGreaterThanOrEqual(2);
    const undeclared: string[] = [];
    const esmOnlyRequired: string[] = [];
    for (const file of [...cjs, ...esm]) {
      for (const s of specifiers(readFileSync(file, "utf8")).filter(bare)) {
        if (isBuiltin(s)) continue;
        if (!declared.includes(packageOf(s))) undeclared.push(`${file}: ${s}`);
        if (file.endsWith(".cjs") && esmOnly(packageOf(s))) esmOnlyRequired.push(`${file}: ${s}`);
      }
    }
    expect(undeclared).toEqual([]);
    expect(esmOnlyRequired).toEqual([]);
    expect(esmOnly("p-retry")).toBe(true);
    for (const file of cjs) expect(readFileSync(file, "utf8")).not.toMatch(/require\(["']p-retry["']\)/);
    // Whatever ESM-only package the ESM build imports, the CJS build carries a copy of.
    const cjsCode = cjs.map((f) => readFileSync(f, "utf8")).join("\n");
    const importedEsmOnly = new Set(
      esm.flatMap((f) =>
        specifiers(readFileSync(f, "utf8")).filter((s) => bare(s) && !isBuiltin(s) && esmOnly(packageOf(s))),
      ),
    );
    expect([...importedEsmOnly].sort()).toEqual(["p-retry"]);
    for (const name of importedEsmOnly) expect(cjsCode).toContain(`// node_modules/${name}/`);
  });

  describe("the tsup config", () => {
    let out: string;
    beforeAll(() => {
      // Inside the repo, so that the fixture resolves p-retry from node_modules/.
      out = join(root, "node_modules", ".switchyard-tsup-fixture");
      rmSync(out, { recursive: true, force: true });
      mkdirSync(out, { recursive: true });
    });
    afterAll(() => rmSync(out, { recursive: true, force: true }));

    it("bundles p-retry into CommonJS output and keeps it a plain import in ESM output", async () => {
      // Build a one-line module that uses p-retry with the package's own two
      // configs, then run the CJS result on this Node.
      const entry = join(out, "uses-p-retry.ts");
      writeFileSync(
        entry,
        'import pRetry from "p-retry";\nexport const retried = (n: number) => pRetry(async (attempt) => { if (attempt < n) throw new Error("again"); return attempt; }, { retries: 5, minTimeout: 0, maxTimeout: 0 });\n',
      );
      const { build } = await import("tsup");
      const configs = (await import("../../tsup.config.js")).default as import("tsup").Options[];
      expect(configs.map((c) => c.format)).toEqual([["esm"], ["cjs"]]);
      for (const config of configs) {
        await build({
          ...config,
          entry: { "uses-p-retry": entry },
          outDir: out,
          dts: false,
          silent: true,
          config: false,
        });
      }
      const cjsCode = readFileSync(join(out, "uses-p-retry.cjs"), "utf8");
      const esmCode = readFileSync(join(out, "uses-p-retry.js"), "utf8");
      expect(specifiers(cjsCode).filter((s) => !s.startsWith("."))).toEqual([]);
      expect(specifiers(esmCode)).toContain("p-retry");
      const { stdout } = await run(
        process.execPath,
        [
          "-e",
          `require(${JSON.stringify(join(out, "uses-p-retry.cjs"))}).retried(3).then((n) => console.log("attempts", n))`,
        ],
        { cwd: out, timeout: 15_000 },
      );
      expect(stdout).toBe("attempts 3\n");
    });
  });

  describe("resolution through the package's exports map", () => {
    let app: string;
    beforeAll(() => {
      app = mkdtempSync(join(tmpdir(), "switchyard-app-"));
      mkdirSync(join(app, "node_modules"));
      symlinkSync(root, join(app, "node_modules", pkg.name), "dir");
      writeFileSync(join(app, "package.json"), '{ "name": "app", "private": true }\n');
    });
    afterAll(() => rmSync(app, { recursive: true, force: true }));

    const script = (load: string) => `
${load}
const upstream = api.createUpstream({
  name: "api",
  resolver: api.staticResolver(${JSON.stringify(HOSTS)}),
  random: testing.seededRandom(42),
});
upstream.ready().then(async () => {
  const picks = Array.from({ length: 10 }, () => upstream.pick().host.split(".")[3]).join("");
  await upstream.close();
  let error;
  try { upstream.pick(); } catch (e) { error = e; }
  console.log(picks, error instanceof api.ClosedError, error.code, resolved);
});`;

    it('require("switchyard") and require("switchyard/testing") load the CJS build', async () => {
      const code = script(`
const api = require("switchyard");
const testing = require("switchyard/testing");
const resolved = [require.resolve("switchyard"), require.resolve("switchyard/testing"), require("switchyard/package.json").version]
  .map((p) => p.replace(${JSON.stringify(root)}, "<root>")).join(" ");`);
      const { stdout } = await run(process.execPath, ["-e", code], { cwd: app, timeout: 15_000 });
      expect(stdout).toBe(
        `${WEIGHTED_FIRST_10} true ERR_CLOSED <root>/dist/index.cjs <root>/dist/testing/index.cjs ${pkg.version}\n`,
      );
    });

    it('import "switchyard" and "switchyard/testing" load the ESM build', async () => {
      const code = script(`
const api = await import("switchyard");
const testing = await import("switchyard/testing");
const resolved = [import.meta.resolve("switchyard"), import.meta.resolve("switchyard/testing")]
  .map((u) => new URL(u).pathname.replace(${JSON.stringify(root)}, "<root>")).join(" ");`);
      const { stdout } = await run(process.execPath, ["--input-type=module", "-e", code], {
        cwd: app,
        timeout: 15_000,
      });
      expect(stdout).toBe(`${WEIGHTED_FIRST_10} true ERR_CLOSED <root>/dist/index.js <root>/dist/testing/index.js\n`);
    });

    it("the .d.ts and .d.cts types type-check for CommonJS and ESM consumers (node16, skipLibCheck off)", () => {
      const consumer = `
import { createUpstream, NoEndpointsError, staticResolver, type Endpoint } from "switchyard";
import { seededRandom } from "switchyard/testing";
const upstream = createUpstream({ name: "api", resolver: staticResolver(["10.0.0.1:80"]), random: seededRandom(1) });
const picked: Endpoint = upstream.pick();
const code: string = new NoEndpointsError("api", "empty").code;
// @ts-expect-error weights are numbers: proves the types are real, not any
staticResolver([{ host: "10.0.0.1", port: 80, weight: "heavy" }]);
export { picked, code };
`;
      const diagnostics: string[] = [];
      for (const [dir, type] of [
        ["cjs", "commonjs"],
        ["esm", "module"],
      ] as const) {
        const base = join(app, dir);
        mkdirSync(base, { recursive: true });
        writeFileSync(join(base, "package.json"), JSON.stringify({ type }));
        writeFileSync(join(base, "consumer.ts"), consumer);
        const program = ts.createProgram([join(base, "consumer.ts")], {
          module: ts.ModuleKind.Node16,
          moduleResolution: ts.ModuleResolutionKind.Node16,
          target: ts.ScriptTarget.ES2022,
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ["node"],
          typeRoots: [join(root, "node_modules/@types")],
        });
        const resolvedTo = program
          .getSourceFiles()
          .map((f) => f.fileName)
          .filter((f) => f.startsWith(dist))
          .map((f) => f.slice(dist.length + 1))
          .sort();
        expect(resolvedTo.filter((f) => f.startsWith("index.") || f.startsWith("testing/"))).toEqual(
          dir === "cjs" ? ["index.d.cts", "testing/index.d.cts"] : ["index.d.ts", "testing/index.d.ts"],
        );
        for (const d of ts.getPreEmitDiagnostics(program)) {
          const where = d.file
            ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`
            : "";
          diagnostics.push(`${dir} ${where} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
        }
      }
      expect(diagnostics).toEqual([]);
    }, 60_000);
  });
});
