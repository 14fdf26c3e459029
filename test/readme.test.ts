import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");
const run = promisify(execFile);

/** The code blocks under the README's "## Quick start" heading, with their languages. */
function quickStartBlocks(): { lang: string; code: string }[] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.split(/^## /m).find((s) => s.startsWith("Quick start\n"));
  if (section === undefined) throw new Error('README.md has no "## Quick start" section');
  return [...section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1] as string,
    code: m[2] as string,
  }));
}

/** The quick-start samples, ESM then CommonJS, as the README shows them. */
const SAMPLES = ["examples/quick-start.mjs", "examples/quick-start.cjs"];

describe("README", () => {
  it("the quick start shows the install, then an ESM and a CommonJS sample byte-identical to examples/", () => {
    const blocks = quickStartBlocks();
    expect(blocks.map((b) => b.lang)).toEqual(["sh", "js", "js"]);
    expect(blocks[0]?.code).toBe("npm install switchyard\n");
    expect(blocks.slice(1).map((b) => b.code)).toEqual(SAMPLES.map((f) => readFileSync(join(root, f), "utf8")));
    // The ESM sample awaits at top level; the CommonJS one cannot, and requires.
    expect(blocks[1]?.code).toMatch(/^import \{[^}]+\} from "switchyard";$/m);
    expect(blocks[1]?.code).toMatch(/^await upstream\.ready\(\);$/m);
    expect(blocks[2]?.code).toMatch(/^const \{[^}]+\} = require\("switchyard"\);$/m);
    expect(blocks[2]?.code).not.toMatch(/^await /m);
    expect(blocks[2]?.code).not.toMatch(/^import /m);
  });

  for (const sample of SAMPLES) {
    it(`${sample} runs against the built package and prints what its comments say`, async () => {
      // It loads "switchyard" by name: Node resolves that through the
      // package's own exports map to dist/ (`npm test` builds first).
      // test/package/consumer.test.ts runs it from the packed tarball.
      if (!existsSync(join(root, "dist/index.js"))) throw new Error("dist/ is missing: run `npm run build` first");
      const { stdout, stderr } = await run(process.execPath, [sample], { cwd: root, timeout: 15_000 });
      expect(stderr).toBe("");
      expect(stdout).toBe("750 250\n10.0.0.2:8080\n");
      const code = readFileSync(join(root, sample), "utf8");
      const promised = [...code.matchAll(/^\s*console\.log\(.*\); \/\/ (.*)$/gm)].map((m) => m[1]);
      expect(promised).toEqual(["750 250", "10.0.0.2:8080"]);
    });
  }

  it("npm run demo: balances 1,000 calls per step over real local servers, shifts blue → green, and exits by itself", async () => {
    // Exiting on its own (exit code 0, no timeout) proves the demo closes its
    // servers, connections and upstream. The first step starts at a random
    // position of the 50/30/20 cycle; the blue-green steps are exact.
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "examples/demo.ts"], {
      cwd: root,
      timeout: 15_000,
    });
    expect(stderr).toBe("");
    const counts = (title: string) => {
      const block = stdout.slice(stdout.indexOf(title));
      return ["alpha", "bravo", "charlie"].map((name) => {
        const row = new RegExp(`^  ${name} .* (\\d+) \\(`, "m").exec(block);
        return Number(row?.[1]);
      });
    };
    const first = counts("1000 calls, weighted round robin 50/30/20 (1000 ok, 0 failed)");
    expect(first.reduce((a, b) => a + b, 0)).toBe(1000);
    // 1,000 picks = 33 full cycles of 30 (exactly 50/30/20) plus 10; the
    // balancer's smoothness bound (docs/balancing.md) keeps each within 8.
    for (const [i, share] of [50, 30, 20].entries()) {
      expect(Math.abs((first[i] as number) - share * 10)).toBeLessThanOrEqual(8);
    }
    expect(counts("resolver.set(100/0/0): 1000 calls (1000 ok, 0 failed)")).toEqual([1000, 0, 0]);
    expect(counts("resolver.set(80/20/0): 1000 calls (1000 ok, 0 failed)")).toEqual([800, 200, 0]);
    expect(counts("resolver.set(0/100/0): 1000 calls (1000 ok, 0 failed)")).toEqual([0, 1000, 0]);
    // Every call was reported to the upstream: bravo's count is what bravo received.
    expect(stdout).toContain(`  bravo: HEALTHY, ${(first[1] as number) + 1200} outcomes reported, 0 failures\n`);
  });

  it("names the two commands a new user runs on a fresh clone", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    expect(readme).toContain("```sh\nnpm ci && npm run demo\n```");
    const testCommand = "scripts/install-test-deps.sh && npm ci && npm test";
    expect(readme).toContain(`\`\`\`sh\n${testCommand}\n\`\`\``);
    // CI runs exactly the README's test command.
    expect(readFileSync(join(root, ".ci/run"), "utf8")).toContain(`\n${testCommand}\n`);
    const scripts = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts as Record<string, string>;
    expect(scripts.demo).toBe("tsx examples/demo.ts");
    // npm test runs vitest under each supported Node major (test/package/node-versions.test.ts).
    expect(scripts.test).toContain("node scripts/test-node-versions.mjs");
  });
});
