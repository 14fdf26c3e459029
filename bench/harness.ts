/**
 * A small benchmark harness: every figure is the median of several timed
 * rounds after a warm-up, measured in the same process and run, so figures
 * can be compared with each other (and with the array-index baseline).
 * @module
 */

/** One measured figure, as `npm run bench -- --json` prints it. */
export interface Figure {
  /** Dotted name, e.g. `pick.weighted-round-robin.n1000`. */
  name: string;
  /** The median over the timed rounds. */
  value: number;
  /** `ns/op`, `ms` or `count`. */
  unit: string;
}

/** Anything with a `pick()` that returns an endpoint-like object: a `Picker`, or the baseline. */
export interface PickerLike {
  pick(): { readonly port: number } | undefined;
}

/** Timed rounds per figure (the median is reported). */
export const ROUNDS = 7;

let sinkValue = 0;

/**
 * Folds a value into the global sink. Every benchmark folds something from
 * each result in, and the sink is printed at the end, so V8 cannot drop the
 * work as dead code.
 */
export function sink(value: number): void {
  sinkValue = (sinkValue + value) | 0;
}

/** The sink's current value (printed after the run). */
export function sinkTotal(): number {
  return sinkValue;
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

type PickLoop = (picker: PickerLike, ops: number) => number;

/**
 * A fresh copy of the pick loop. Each benchmark gets its own compiled
 * function, hence its own inline caches: `picker.pick()` stays monomorphic
 * for the one picker class it sees, and no benchmark pays for the classes
 * measured before it. Every figure goes through exactly this code.
 */
function pickLoop(): PickLoop {
  return new Function(
    "picker",
    "ops",
    `"use strict";
    let acc = 0;
    for (let i = 0; i < ops; i++) {
      const e = picker.pick();
      acc = (acc + e.port) | 0;
    }
    return acc;`,
  ) as PickLoop;
}

function now(): bigint {
  return process.hrtime.bigint();
}

/**
 * Nanoseconds per `pick()`: warms the loop up (so it runs optimized), sizes
 * a round to about `roundMs`, then returns the median of `ROUNDS` rounds.
 */
export function nsPerPick(picker: PickerLike, roundMs = 20): number {
  const loop = pickLoop();
  // Warm-up: enough calls for V8 to optimize the loop and pick().
  let ops = 10_000;
  for (let k = 0; k < 5; k++) sink(loop(picker, ops));
  // Size a round from a measured one.
  let elapsed = 0;
  while (elapsed < 2e6) {
    ops *= 2;
    const t0 = now();
    sink(loop(picker, ops));
    elapsed = Number(now() - t0);
  }
  ops = Math.max(100_000, Math.round((ops * roundMs * 1e6) / elapsed));
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = now();
    sink(loop(picker, ops));
    samples.push(Number(now() - t0) / ops);
  }
  return median(samples);
}

/**
 * Milliseconds per call of `run` (one call = one operation, e.g. building a
 * picker): `warmup` untimed calls, then the median of `ROUNDS` timed ones.
 * `run` returns a number that goes into the sink. `prepare`, if given, runs
 * before each call, untimed.
 */
export function msPerCall(run: () => number, options: { warmup?: number; prepare?: () => void } = {}): number {
  const warmup = options.warmup ?? 3;
  for (let k = 0; k < warmup; k++) {
    options.prepare?.();
    sink(run());
  }
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    options.prepare?.();
    const t0 = now();
    sink(run());
    samples.push(Number(now() - t0) / 1e6);
  }
  return median(samples);
}

/** Rounds a figure for display and JSON: 3 significant digits, at most 3 decimals. */
export function round(value: number): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  const digits = Math.max(0, Math.min(3, 2 - Math.floor(Math.log10(Math.abs(value)))));
  return Number(value.toFixed(digits));
}

/** Formats figures as a plain table; pick figures get their ratio to `baseline`. */
export function table(figures: readonly Figure[], baseline: string): string {
  const base = figures.find((f) => f.name === baseline);
  const rows = figures.map((f) => [
    f.name,
    String(round(f.value)),
    f.unit,
    base !== undefined && f.name.startsWith("pick.") ? `${(f.value / base.value).toFixed(2)}×` : "",
  ]);
  const header = ["name", "value", "unit", `vs ${baseline}`];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 1 || i === 3 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
