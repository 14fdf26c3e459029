import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { median, table } from "../bench/harness.js";

const root = resolve(import.meta.dirname, "..");
const run = promisify(execFile);

describe("bench harness", () => {
  it("--json prints exactly one JSON object of figures on stdout, and --filter selects by prefix", async () => {
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "bench/index.ts", "--json", "--filter", "pick.baseline"],
      { cwd: root, timeout: 15_000 }, // under vitest's 20 s: a hung child is killed, not left behind
    );
    expect(stdout.endsWith("\n")).toBe(true);
    expect(stdout.trim().split("\n")).toHaveLength(1);
    const parsed = JSON.parse(stdout) as { figures: { name: string; value: number; unit: string }[] };
    expect(Object.keys(parsed)).toEqual(["figures"]);
    expect(parsed.figures.map((f) => [f.name, f.unit])).toEqual([["pick.baseline.n1000", "ns/op"]]);
    expect(parsed.figures[0]?.value).toBeGreaterThan(0);
  });

  it("median and table", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    const text = table(
      [
        { name: "pick.baseline.n1000", value: 2, unit: "ns/op" },
        { name: "pick.random.n1000", value: 5, unit: "ns/op" },
        { name: "build.x", value: 1.23456, unit: "ms" },
      ],
      "pick.baseline.n1000",
    );
    expect(text.split("\n")).toEqual([
      "name                 value  unit   vs pick.baseline.n1000",
      "-------------------  -----  -----  ----------------------",
      "pick.baseline.n1000      2  ns/op                   1.00×",
      "pick.random.n1000        5  ns/op                   2.50×",
      "build.x               1.23  ms",
    ]);
  });
});
