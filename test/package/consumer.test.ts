import { execFile } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cachedInstall, cleanNpmEnv } from "../../scripts/cached-npm-install.mjs";

// The package as a user gets it: `npm pack`, then `npm install` of the tarball
// into fresh `npm init -y` projects, one CommonJS (npm 11 writes
// "type": "commonjs") and one ESM ("type": "module"). The README's two
// quick-start samples run there as a user would save them, and a consumer
// program type-checks against the installed types with TypeScript 5.9 (this
// repo's) and TypeScript 7 (what `npm install typescript` gives today).
//
// The install is offline: the package's dependencies are packed from this
// repo's node_modules (the versions package-lock.json pins) and installed with
// the package's tarball, so no registry is asked. `npm test` builds dist/ first.

const root = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
};

/** What both samples print, as their comments promise. */
const SAMPLE_OUTPUT = "750 250\n10.0.0.2:8080\n";

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run("npm", args, { cwd, env: cleanNpmEnv(), timeout: 120_000 });
  return stdout;
}

/**
 * The folders, in this repo's node_modules, of the package's dependencies and
 * theirs, found as Node would find them from the package that needs them.
 */
function dependencyFolders(): string[] {
  const found = new Map<string, string>();
  const visit = (names: string[], from: string) => {
    for (const name of names) {
      const nested = join(from, "node_modules", name);
      const dir = existsSync(join(nested, "package.json")) ? nested : join(root, "node_modules", name);
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        version: string;
        dependencies?: Record<string, string>;
      };
      const seen = found.get(name);
      if (seen !== undefined && seen !== dir) throw new Error(`two copies of ${name} are needed: ${seen}, ${dir}`);
      if (seen !== undefined) continue;
      found.set(name, dir);
      visit(Object.keys(manifest.dependencies ?? {}), dir);
    }
  };
  visit(Object.keys(pkg.dependencies), root);
  return [...found.values()];
}

/** A TypeScript program that uses both entry points; `@ts-expect-error` proves the types are real, not any. */
const CONSUMER = `import { createUpstream, NoEndpointsError, staticResolver, type Endpoint } from "switchyard";
import { seededRandom } from "switchyard/testing";

export async function firstPick(): Promise<string> {
  await using upstream = createUpstream({
    name: "api",
    resolver: staticResolver(["10.0.0.1:80", { host: "10.0.0.2", port: 80, weight: 50 }]),
    random: seededRandom(1),
  });
  await upstream.ready();
  const picked: Endpoint = upstream.pick();
  return picked.id;
}
export const code: string = new NoEndpointsError("api", "empty").code;
// @ts-expect-error weights are numbers
staticResolver([{ host: "10.0.0.1", port: 80, weight: "heavy" }]);
`;

/** What a consumer needs (docs/install.md): @types/node, listed in `types`; nodenext resolution. */
const TSCONFIG = {
  compilerOptions: {
    module: "nodenext",
    target: "es2022",
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    types: ["node"],
    allowJs: true,
    checkJs: true,
    noEmit: true,
  },
};

describe("the packed tarball in fresh npm projects", () => {
  let work: string;
  const projects = { cjs: "", esm: "" };

  beforeAll(async () => {
    if (!existsSync(join(root, "dist/index.js"))) throw new Error("dist/ is missing: run `npm run build` first");
    work = mkdtempSync(join(tmpdir(), "switchyard-consumer-"));
    const packed = JSON.parse(
      await npm(["pack", "--ignore-scripts", "--json", "--pack-destination", work, root, ...dependencyFolders()], work),
    ) as { name: string; filename: string }[];
    expect(packed[0]?.name).toBe(pkg.name);
    const tarballs = packed.map((p) => join(work, p.filename));
    for (const kind of ["cjs", "esm"] as const) {
      const dir = join(work, kind);
      mkdirSync(dir);
      await npm(["init", "-y"], dir);
      if (kind === "esm") await npm(["pkg", "set", "type=module"], dir);
      await npm(["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", ...tarballs], dir);
      projects[kind] = dir;
    }
    // As a user saves them: index.js in the project's own module system, and
    // the other sample under its explicit extension.
    copyFileSync(join(root, "examples/quick-start.cjs"), join(projects.cjs, "index.js"));
    copyFileSync(join(root, "examples/quick-start.mjs"), join(projects.cjs, "quick-start.mjs"));
    copyFileSync(join(root, "examples/quick-start.mjs"), join(projects.esm, "index.js"));
    copyFileSync(join(root, "examples/quick-start.cjs"), join(projects.esm, "quick-start.cjs"));
  }, 180_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("npm init -y makes a CommonJS project; the ESM one says type: module; both hold the installed package", () => {
    const type = (dir: string) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).type as unknown;
    expect([undefined, "commonjs"]).toContain(type(projects.cjs));
    expect(type(projects.esm)).toBe("module");
    for (const dir of Object.values(projects)) {
      const installed = JSON.parse(readFileSync(join(dir, "node_modules", pkg.name, "package.json"), "utf8"));
      expect(installed.version).toBe(pkg.version);
      // A real copy from the tarball, not a link back to this repo.
      expect(existsSync(join(dir, "node_modules", pkg.name, "src"))).toBe(false);
    }
  });

  for (const [title, kind, file] of [
    ["CommonJS project: the CommonJS sample as index.js", "cjs", "index.js"],
    ["CommonJS project: the ESM sample as quick-start.mjs", "cjs", "quick-start.mjs"],
    ["ESM project: the ESM sample as index.js", "esm", "index.js"],
    ["ESM project: the CommonJS sample as quick-start.cjs", "esm", "quick-start.cjs"],
  ] as const) {
    it(`${title} runs and prints exactly what its comments say`, async () => {
      const { stdout, stderr } = await run(process.execPath, [file], { cwd: projects[kind], timeout: 15_000 });
      expect(stderr).toBe("");
      expect(stdout).toBe(SAMPLE_OUTPUT);
    });
  }

  /**
   * Type-checks, in both projects, the consumer program and the two samples
   * (checkJs) with one TypeScript and one @types/node; returns the diagnostics
   * and which of the package's declaration files each project resolved.
   */
  async function typeCheck(tsc: string, typesNode: string) {
    const out: { errors: string[]; resolved: Record<string, string[]> } = { errors: [], resolved: {} };
    for (const [kind, dir] of Object.entries(projects)) {
      mkdirSync(join(dir, "node_modules/@types"), { recursive: true });
      rmSync(join(dir, "node_modules/@types/node"), { recursive: true, force: true });
      symlinkSync(typesNode, join(dir, "node_modules/@types/node"), "dir");
      writeFileSync(join(dir, "consumer.ts"), CONSUMER);
      const other = kind === "cjs" ? "quick-start.mjs" : "quick-start.cjs";
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({ ...TSCONFIG, files: ["consumer.ts", "index.js", other] }, null, 2),
      );
      const result = await run(process.execPath, [tsc, "-p", ".", "--listFiles"], { cwd: dir, timeout: 120_000 }).catch(
        (error: { stdout?: string; stderr?: string; code?: number }) => ({
          stdout: `${error.stdout ?? ""}${error.stderr ?? ""}\n(exit ${error.code})`,
          stderr: "",
        }),
      );
      const lines = `${result.stdout}${result.stderr}`.split("\n").filter((l) => l.trim() !== "");
      const distPrefix = `${join(dir, "node_modules", pkg.name, "dist")}/`;
      out.resolved[kind] = lines
        .filter((l) => l.startsWith(distPrefix) && /index\.d\.c?ts$/.test(l))
        .map((l) => l.slice(distPrefix.length))
        .sort();
      out.errors.push(...lines.filter((l) => !l.startsWith("/")).map((l) => `${kind}: ${l}`));
    }
    return out;
  }

  // Each project checks one sample of the other module system too, so both
  // builds' types load in each; switchyard/testing, imported by consumer.ts
  // alone, shows the project's own resolution: .d.cts for CommonJS, .d.ts for ESM.
  const RESOLVED = {
    cjs: ["index.d.cts", "index.d.ts", "testing/index.d.cts"],
    esm: ["index.d.cts", "index.d.ts", "testing/index.d.ts"],
  };

  it("type-checks with TypeScript 5.9 and @types/node 20, ESM and CommonJS (nodenext, strict, skipLibCheck off)", async () => {
    const tsc = join(root, "node_modules/typescript/bin/tsc");
    const { stdout } = await run(process.execPath, [tsc, "--version"]);
    expect(stdout).toMatch(/^Version 5\.9\./);
    const { errors, resolved } = await typeCheck(tsc, join(root, "node_modules/@types/node"));
    expect(errors).toEqual([]);
    expect(resolved).toEqual(RESOLVED);
  }, 120_000);

  it("type-checks with TypeScript 7 and @types/node 26, ESM and CommonJS (nodenext, strict, skipLibCheck off)", async () => {
    // Installed from the registry into node_modules/.cache/switchyard once.
    const tsc = join(cachedInstall("typescript", "7", "typescript-7"), "bin/tsc");
    const typesNode = cachedInstall("@types/node", "26", "types-node-26");
    const { stdout } = await run(process.execPath, [tsc, "--version"]);
    expect(stdout).toMatch(/^Version 7\./);
    const { errors, resolved } = await typeCheck(tsc, typesNode);
    expect(errors).toEqual([]);
    expect(resolved).toEqual(RESOLVED);
  }, 180_000);
});
