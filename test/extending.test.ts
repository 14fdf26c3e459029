import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");
const run = promisify(execFile);

/**
 * What examples/extending.ts prints: ManualClock and seededRandom(7) make it
 * exact. The picks follow from every draw the upstream and the picker make
 * from the seeded Random, so a change in how the upstream draws changes them:
 * update this and the doc's text block together.
 */
const OUTPUT = [
  "10.0.0.1:8080 HEALTHY [] 1820 picks, 0 failures, 3 in flight, last 10 ms {}",
  "10.0.0.2:8080 HEALTHY [] 1171 picks, 0 failures, 13 in flight, last 30 ms {}",
  '10.0.0.3:8080 UNHEALTHY [eject-after-failures] 9 picks, 9 failures, 0 in flight, last 1 ms {"eject-after-failures":{"ejectedAt":2028,"returnsAt":3028}}',
  '{"attempts":{"inFlight":16,"abandoned":0},"plugins":{"eject-after-failures":{"ejections":3}}}',
  "",
].join("\n");

/** The bodies of the fenced blocks of `lang` in docs/extending.md. */
function blocks(lang: string): string[] {
  const doc = readFileSync(join(root, "docs/extending.md"), "utf8");
  return [...doc.matchAll(new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\`$`, "gm"))].map((m) => m[1] as string);
}

describe("docs/extending.md", () => {
  it("has one TypeScript sample, byte-identical to examples/extending.ts", () => {
    expect(blocks("ts")).toEqual([readFileSync(join(root, "examples/extending.ts"), "utf8")]);
  });

  it("shows the output the example prints", () => {
    expect(blocks("text")).toEqual([OUTPUT]);
  });

  it("examples/extending.ts runs and prints exactly that", async () => {
    // It imports "switchyard" and "switchyard/testing" by name, as a user
    // would; tsx resolves them through tsconfig.json's `paths` to src/.
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "examples/extending.ts"], {
      cwd: root,
      timeout: 15_000,
    });
    expect(stderr).toBe("");
    expect(stdout).toBe(OUTPUT);
  });
});
