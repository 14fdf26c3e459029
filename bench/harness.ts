/**
 * A small benchmark harness for a shared, noisy machine.
 *
 * Time per operation (`ns/op`) is never measured alone: the rounds of every
 * figure are interleaved with rounds of the array-index baseline (round k of
 * the figure next to round k of the baseline, same op count), so both see the
 * same machine state, and the figure's ratio to the baseline comes from its
 * own run. The figure's value is the minimum of its rounds. Allocation
 * (`B/op`) is the heap's growth over a run of 10^6 ops plus what any GC
 * during the run freed. Whole calls (`ms`) are the median of a few timed calls.
 * @module
 */
import { GCProfiler } from "node:v8";

/** One measured figure, as `npm run bench -- --json` prints it. */
export interface Figure {
  /** Dotted name, e.g. `pick.weighted-round-robin.n1000`. */
  name: string;
  /** `ns/op`: the fastest round; `B/op`: bytes allocated per op; `ms`: median of the calls; `count`. */
  value: number;
  /** `ns/op`, `B/op`, `ms`, `count` or `fraction`. */
  unit: string;
  /** For `ns/op`: value ÷ the array-index baseline, from the rounds interleaved with it in the same run. */
  ratio?: number;
}

/** What a measurement gives: a value, and for `ns/op` its ratio to the interleaved baseline. */
export interface Measurement {
  value: number;
  ratio?: number;
}

/** Anything with a `pick()` that returns a host-like object: a `Picker`, or the baseline. */
export interface PickerLike {
  pick(): { readonly endpoint: { readonly port: number } } | undefined;
}

/** A compiled loop that calls `picker.pick()` `ops` times and returns a checksum for the sink. */
export type PickLoop = (picker: PickerLike, ops: number) => number;

/** A compiled loop that calls `op(i)` for i = 0 … ops − 1 and returns a checksum for the sink. */
export type OpLoop = (op: (i: number) => number, ops: number) => number;

/** How an `ns/op` figure is measured. */
export interface NsOptions {
  /** Timed rounds of the figure, each paired with one of the baseline (default `ROUNDS`). */
  rounds?: number;
  /** Target length of one figure round, in ms (default 10); the baseline round has the same op count. */
  roundMs?: number;
}

/** Timed rounds per `ns/op` figure, each paired with one baseline round. */
export const ROUNDS = 15;

/** Timed calls per `ms` figure (the median is reported). */
export const CALL_ROUNDS = 7;

let sinkValue = 0;

/**
 * Folds a value into the global sink. Every benchmark folds something from
 * each result in, and the sink is printed at the end, so V8 cannot drop the
 * work as dead code.
 */
export function sink(value: number): void {
  sinkValue = (sinkValue + value) | 0;
}

/** The sink's current value (printed after the run), so the work folded into it stays live. */
export function sinkTotal(): number {
  return sinkValue;
}

/** The median of a non-empty list: the middle value, or the mean of the two middle ones. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

let loopCopies = 0;

/**
 * `new Function(...params, body)` compiled from a source text no other call
 * used. V8 caches `new Function` by source, and the cached entry carries the
 * feedback vector: two copies of one text share their inline caches (and
 * optimized code), so the `pick()` call in a "fresh" loop would already have
 * seen every picker class measured before it (5 classes made it megamorphic
 * and the baseline 3.5× slower). A numbered comment makes each text unique.
 */
function compileFresh(params: readonly string[], body: string): unknown {
  return new Function(...params, `/* copy ${++loopCopies} */ "use strict";\n${body}`);
}

/**
 * A fresh copy of the pick loop: its own compiled function, hence its own
 * inline caches (see `compileFresh`), so `picker.pick()` stays monomorphic
 * for the one picker class the copy sees, and no figure pays for the classes
 * measured before it. Pass one copy as `loop` to several figures to measure a
 * call site that has seen them all.
 */
export function pickLoop(): PickLoop {
  return compileFresh(
    ["picker", "ops"],
    `let acc = 0;
    for (let i = 0; i < ops; i++) {
      const h = picker.pick();
      acc = (acc + h.endpoint.port) | 0;
    }
    return acc;`,
  ) as PickLoop;
}

/**
 * A fresh copy of the op loop, `acc = (acc + op(i)) | 0` for i = 0 … ops − 1:
 * like `pickLoop()`, its own compiled function and inline caches, so `op`
 * stays a monomorphic call that V8 can inline.
 */
export function opLoop(): OpLoop {
  return compileFresh(
    ["op", "ops"],
    `let acc = 0;
    for (let i = 0; i < ops; i++) acc = (acc + op(i)) | 0;
    return acc;`,
  ) as OpLoop;
}

function now(): bigint {
  return process.hrtime.bigint();
}

/** Nanoseconds per op of one call of `run(ops)`; its result goes into the sink. */
function timeRound(run: (ops: number) => number, ops: number): number {
  const t0 = now();
  const acc = run(ops);
  const elapsed = Number(now() - t0);
  sink(acc);
  return elapsed / ops;
}

/**
 * The interleaved method behind `nsPerPick` and `nsPerOp`. Both loops are
 * warmed up (so they run optimized), the op count is sized so that a figure
 * round takes about `roundMs`, then `rounds` pairs run: round k of the figure
 * beside round k of the baseline with the same op count, the baseline first
 * in every other pair so that neither side always runs in the other's wake.
 *
 * Value: the minimum over the figure's rounds. Noise on a shared machine
 * only ever adds time (preemption, a neighbour's cache and memory traffic, a
 * slower core), so the fastest round is the closest to the code's own cost;
 * a median moves with the share of rounds that were disturbed.
 *
 * Ratio: min(figure rounds) / min(baseline rounds). Both minima come from the
 * same window of the same run, with the same JIT and heap state, so what
 * slows a whole run (a busy neighbour, the core it lands on) divides out.
 * The median of the per-pair ratios was tried too: over 9 runs with and
 * without background CPU and memory load it was the less stable of the two
 * (pick.priority.n1000: 7.8–19.8× against 7.1–8.2× for min ÷ min), because a
 * sustained load that slows most pairs, and the figure more than the
 * baseline, moves the median of ratios, while one clean round on each side
 * is enough for min ÷ min.
 */
function interleaved(
  figure: (ops: number) => number,
  baseline: ((ops: number) => number) | undefined,
  options: NsOptions,
): Measurement {
  const rounds = options.rounds ?? ROUNDS;
  const roundMs = options.roundMs ?? 10;
  // Warm-up: enough calls for V8 to optimize both loops and what they call.
  let ops = 10_000;
  for (let k = 0; k < 5; k++) {
    sink(figure(ops));
    if (baseline !== undefined) sink(baseline(ops));
  }
  // Size a round from a measured one of the figure.
  let elapsed = 0;
  while (elapsed < 2) {
    ops *= 2;
    elapsed = timeRound(figure, ops) * ops * 1e-6;
  }
  ops = Math.max(1000, Math.round((ops * roundMs) / elapsed));
  const own: number[] = [];
  const base: number[] = [];
  for (let r = 0; r < rounds; r++) {
    if (baseline !== undefined && r % 2 === 1) base.push(timeRound(baseline, ops));
    own.push(timeRound(figure, ops));
    if (baseline !== undefined && r % 2 === 0) base.push(timeRound(baseline, ops));
  }
  const value = Math.min(...own);
  return { value, ratio: baseline === undefined ? 1 : value / Math.min(...base) };
}

/**
 * Nanoseconds per `picker.pick()`, interleaved with `baseline` (the
 * array-index `BaselinePicker` of pick.ts): see the method above. Each side
 * runs through its own fresh `pickLoop()`, so their inline caches are their
 * own; `options.loop` runs the figure through the given loop instead (e.g. a
 * shared one that has seen many picker classes), the baseline still through
 * a fresh one. With `baseline === picker`, only the baseline's own rounds
 * run and its ratio is 1.
 * @returns `value`: ns per op of the fastest round; `ratio`: that ÷ the fastest baseline round.
 */
export function nsPerPick(
  picker: PickerLike,
  baseline: PickerLike,
  options: NsOptions & { loop?: PickLoop } = {},
): Measurement {
  const loop = options.loop ?? pickLoop();
  const figure = (ops: number) => loop(picker, ops);
  if (picker === baseline) return interleaved(figure, undefined, options);
  const baseLoop = pickLoop();
  return interleaved(figure, (ops) => baseLoop(baseline, ops), options);
}

/**
 * Nanoseconds per `op(i)`, for figures that are not one `pick()` (e.g. the
 * begin and end of an attempt), interleaved with `baseline` exactly as in
 * `nsPerPick`: the baseline side is the same `baseline.pick()` through a
 * fresh pick loop, so every `ns/op` ratio is in the same unit, array-index
 * picks. `op` runs through its own fresh `opLoop()` (a monomorphic call V8
 * can inline), or through `options.loop` if given, to measure a call site
 * shared with other ops. `op` returns a number, folded into the sink so its
 * work stays live.
 * @returns `value`: ns per op of the fastest round; `ratio`: that ÷ the fastest baseline round.
 */
export function nsPerOp(
  op: (i: number) => number,
  baseline: PickerLike,
  options: NsOptions & { loop?: OpLoop } = {},
): Measurement {
  const loop = options.loop ?? opLoop();
  const baseLoop = pickLoop();
  return interleaved(
    (ops) => loop(op, ops),
    (ops) => baseLoop(baseline, ops),
    options,
  );
}

/** Measured runs of `bytesPerOp`: the smallest result is reported. */
const ALLOC_RUNS = 3;

/**
 * Bytes allocated per `op(i)`, read off the heap. `op` runs through a fresh
 * loop, so V8 optimizes and inlines it and escape analysis removes what it
 * can, as in production; the loop is warmed up with 3 runs of `ops / 10`.
 * Then, `ALLOC_RUNS` times: a forced full GC (`globalThis.gc`) leaves only
 * live objects, `heapUsed` is read, `ops` ops run, `heapUsed` is read again.
 * No GC is forced after the run: it would free the garbage being counted.
 * A GC that V8 runs by itself during the run frees some of it too, so the
 * bytes each such GC freed are added back (`v8.GCProfiler` gives the used
 * heap before and after every GC): each byte the run allocated is counted
 * once, still on the heap at the end or freed by one GC. In a young
 * generation larger than the run's garbage (node `--min-semi-space-size=256
 * --max-semi-space-size=256`) no GC runs and this is plain after − before,
 * and both ways agree to 0.01 B/op on the checks below. `npm run bench` does
 * not use those flags: they make the `ns/op` figures of pickers that allocate
 * up to 3× slower (their garbage streams through far more memory than the
 * cache holds). The result is the smallest of the runs: a run can also count
 * V8's own allocations (optimized code, feedback), which are not the op's.
 * Checked by test/bench.test.ts: storing a fractional double into a field
 * that holds any value (a tagged field) allocates one 16-byte HeapNumber;
 * into a `Float64Array`, 0; reading an array element, 0. (A field that V8
 * tracks as double-only, on every object of its shape, keeps one mutable box
 * per object and overwrites it: 0.)
 * @throws if `globalThis.gc` is missing, i.e. node ran without `--expose-gc`.
 */
export function bytesPerOp(op: (i: number) => void, ops = 1_000_000): number {
  const gc = globalThis.gc;
  if (gc === undefined) {
    throw new Error(
      "bytesPerOp needs a forced GC: run node with --expose-gc, as `npm run bench` does " +
        "(node --expose-gc --import tsx bench/index.ts)",
    );
  }
  const loop = compileFresh(["op", "ops"], "for (let i = 0; i < ops; i++) op(i);") as (
    op: (i: number) => void,
    ops: number,
  ) => void;
  for (let k = 0; k < 3; k++) loop(op, Math.max(1, Math.round(ops / 10)));
  let least = Number.POSITIVE_INFINITY;
  for (let run = 0; run < ALLOC_RUNS; run++) {
    gc();
    const profiler = new GCProfiler();
    profiler.start();
    const before = process.memoryUsage().heapUsed;
    loop(op, ops);
    const after = process.memoryUsage().heapUsed;
    let freed = 0;
    for (const g of profiler.stop().statistics) {
      freed += g.beforeGC.heapStatistics.usedHeapSize - g.afterGC.heapStatistics.usedHeapSize;
    }
    least = Math.min(least, (after - before + freed) / ops);
  }
  return least;
}

/**
 * Milliseconds per call of `run` (one call = one operation, e.g. building a
 * picker): `warmup` untimed calls, then the median of `CALL_ROUNDS` timed
 * ones. Not interleaved: a call takes milliseconds, long enough that the
 * median of a few is steady. `run` returns a number that goes into the sink.
 * `prepare`, if given, runs before each call, untimed.
 */
export function msPerCall(run: () => number, options: { warmup?: number; prepare?: () => void } = {}): number {
  const warmup = options.warmup ?? 3;
  for (let k = 0; k < warmup; k++) {
    options.prepare?.();
    sink(run());
  }
  const samples: number[] = [];
  for (let r = 0; r < CALL_ROUNDS; r++) {
    options.prepare?.();
    const t0 = now();
    sink(run());
    samples.push(Number(now() - t0) / 1e6);
  }
  return median(samples);
}

/** A `Figure` from a name, a unit and what a benchmark returned (a bare number has no ratio). */
export function figure(name: string, unit: string, measured: number | Measurement): Figure {
  if (typeof measured === "number") return { name, value: measured, unit };
  return measured.ratio === undefined || unit === "B/op"
    ? { name, value: measured.value, unit }
    : { name, value: measured.value, unit, ratio: measured.ratio };
}

/**
 * Rounds a figure for display and JSON: 3 significant digits, at most 3
 * decimals for `B/op` (bytes per op below 0.001 are noise, shown as 0) and
 * at most 6 for other units (a flip costs well under a microsecond in ms);
 * a `fraction` to 5 decimals.
 */
export function round(value: number, unit = ""): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  // A fraction such as a success rate: 99.9% against 99.8% is the point, so 5 decimals.
  if (unit === "fraction") return Number(value.toFixed(5));
  const most = unit === "B/op" ? 3 : 6;
  const digits = Math.max(0, Math.min(most, 2 - Math.floor(Math.log10(Math.abs(value)))));
  return Number(value.toFixed(digits));
}

/** Rounds a ratio for display and JSON: 2 decimals. */
export function roundRatio(ratio: number): number {
  return Number(ratio.toFixed(2));
}

/** A figure as `--json` prints it: value rounded, ratio (2 decimals) only where the figure has one. */
export function toJson(f: Figure): { name: string; value: number; unit: string; ratio?: number } {
  const out: { name: string; value: number; unit: string; ratio?: number } = {
    name: f.name,
    value: round(f.value, f.unit),
    unit: f.unit,
  };
  if (f.ratio !== undefined) out.ratio = roundRatio(f.ratio);
  return out;
}

/** Formats figures as a plain table; each figure with a `ratio` shows it (to its own interleaved baseline). */
export function table(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [
    f.name,
    String(round(f.value, f.unit)),
    f.unit,
    f.ratio === undefined ? "" : `${roundRatio(f.ratio).toFixed(2)}×`,
  ]);
  const header = ["name", "value", "unit", "vs baseline"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 1 || i === 3 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
