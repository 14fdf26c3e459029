import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { median, round, table } from "../bench/harness.js";

const root = resolve(import.meta.dirname, "..");
const run = promisify(execFile);

interface JsonFigure {
  name: string;
  value: number;
  unit: string;
  ratio?: number;
}

/** `npm run bench -- --json <args>`, as the bench script runs it; returns the parsed figures. */
async function benchJson(args: readonly string[]): Promise<JsonFigure[]> {
  const { stdout } = await run(
    process.execPath,
    ["--expose-gc", "--import", "tsx", "bench/index.ts", "--json", ...args],
    {
      cwd: root,
      timeout: 15_000, // under vitest's 20 s: a hung child is killed, not left behind
    },
  );
  expect(stdout.endsWith("\n")).toBe(true);
  expect(stdout.trim().split("\n")).toHaveLength(1);
  const parsed = JSON.parse(stdout) as { figures: JsonFigure[] };
  expect(Object.keys(parsed)).toEqual(["figures"]);
  return parsed.figures;
}

/**
 * bytesPerOp on three ops whose allocation is known, in a child node with
 * `extraFlags`: a fractional double stored into a tagged field (one 16-byte
 * HeapNumber each time: the field held a string first, so it holds any value,
 * and the object escapes into a global), a double stored into a Float64Array,
 * and a read of an array element (both allocate nothing).
 */
async function knownAllocations(extraFlags: readonly string[]): Promise<Record<string, number>> {
  const script = `
    import { bytesPerOp } from "./bench/harness.ts";
    const field = { x: "any value" };
    field.x = 0.5;
    globalThis.escaped = field;
    const f64 = new Float64Array(1024);
    const arr = Array.from({ length: 1000 }, (_, i) => ({ port: i }));
    let last;
    const out = {
      taggedField: bytesPerOp((i) => { field.x = i + 0.5; }),
      float64Array: bytesPerOp((i) => { f64[i & 1023] = i + 0.5; }),
      arrayRead: bytesPerOp((i) => { last = arr[i % 1000]; }),
    };
    globalThis.last = last;
    process.stdout.write(JSON.stringify(out));
  `;
  const { stdout } = await run(
    process.execPath,
    [...extraFlags, "--import", "tsx", "--input-type=module", "--eval", script],
    { cwd: root, timeout: 15_000 },
  );
  return JSON.parse(stdout) as Record<string, number>;
}

describe("bench harness", () => {
  it("--json prints exactly one JSON object of figures on stdout, and --filter selects by prefix", async () => {
    const figures = await benchJson(["--filter", "pick.baseline"]);
    expect(figures.map((f) => [f.name, f.unit, f.ratio])).toEqual([["pick.baseline.n1000", "ns/op", 1]]);
    expect(figures[0]?.value).toBeGreaterThan(0);
    expect(Object.keys(figures[0] ?? {})).toEqual(["name", "value", "unit", "ratio"]);
  });

  it("a pick figure carries its ratio to the baseline it was interleaved with", async () => {
    const figures = await benchJson(["--filter", "pick.round-robin"]);
    expect(figures.map((f) => [f.name, f.unit])).toEqual([["pick.round-robin.n1000", "ns/op"]]);
    const [rr] = figures;
    expect(rr?.value).toBeGreaterThan(0);
    expect(rr?.ratio).toBeGreaterThan(0);
    expect(rr?.ratio).toBe(Number(rr?.ratio?.toFixed(2))); // rounded to 2 decimals
  });

  it("bytesPerOp counts 16 B for a boxed double and 0 for a Float64Array store or an array read", async () => {
    // As `npm run bench` runs (GCs during the run, their frees added back), and
    // in a young generation large enough that no GC runs: both ways must agree.
    for (const flags of [["--expose-gc"], ["--expose-gc", "--min-semi-space-size=256", "--max-semi-space-size=256"]]) {
      const bytes = await knownAllocations(flags);
      expect(Math.abs((bytes.taggedField as number) - 16), `${flags}: ${JSON.stringify(bytes)}`).toBeLessThanOrEqual(1);
      expect(bytes.float64Array, `${flags}: ${JSON.stringify(bytes)}`).toBeLessThan(0.5);
      expect(bytes.arrayRead, `${flags}: ${JSON.stringify(bytes)}`).toBeLessThan(0.5);
    }
  });

  it("bytesPerOp without --expose-gc says how to run it", async () => {
    const script = `import { bytesPerOp } from "./bench/harness.ts"; bytesPerOp(() => {});`;
    await expect(
      run(process.execPath, ["--import", "tsx", "--input-type=module", "--eval", script], {
        cwd: root,
        timeout: 15_000,
      }),
    ).rejects.toThrow(/--expose-gc/);
  });

  it("sim figures: the experiment's latencies (ms) and success rate (a fraction, 5 decimals), from the simulator", async () => {
    const figures = await benchJson(["--filter", "sim.slow-backend.round-robin"]);
    expect(figures).toEqual([
      // Round robin sends the slow backend 1/11 of 30,000 requests: 2,727 time out at 1 s.
      { name: "sim.slow-backend.round-robin.p99", value: 1000, unit: "ms" },
      { name: "sim.slow-backend.round-robin.p999", value: 1000, unit: "ms" },
      { name: "sim.slow-backend.round-robin.success", value: 0.95455, unit: "fraction" },
    ]);
    expect(round(0.998216, "fraction")).toBe(0.99822);
  });

  it("median and table", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    const text = table([
      { name: "pick.baseline.n1000", value: 2, unit: "ns/op", ratio: 1 },
      { name: "pick.random.n1000", value: 5, unit: "ns/op", ratio: 2.456 },
      { name: "alloc.x", value: 16.0004, unit: "B/op" },
      { name: "build.x", value: 1.23456, unit: "ms" },
    ]);
    expect(text.split("\n")).toEqual([
      "name                 value  unit   vs baseline",
      "-------------------  -----  -----  -----------",
      "pick.baseline.n1000      2  ns/op        1.00×",
      "pick.random.n1000        5  ns/op        2.46×",
      "alloc.x                 16  B/op",
      "build.x               1.23  ms",
    ]);
  });
});
