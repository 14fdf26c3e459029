/**
 * `npm run bench`: every figure of the suite, measured in one run.
 *
 *   npm run bench                      a table; each ns/op figure with its ratio to the baseline it was interleaved with
 *   npm run bench -- --json            one JSON object {"figures":[{name,value,unit,ratio?}...]} on stdout
 *   npm run bench -- --filter <prefix> only figures whose name starts with <prefix>
 *
 * The script runs `node --expose-gc --import tsx bench/index.ts`: `B/op` figures force a GC (see `bytesPerOp`).
 * @module
 */
import type { Figure } from "./harness.js";
import { ROUNDS, sinkTotal, table, toJson } from "./harness.js";

/** What a bench module exports: the figures whose name passes `select`, measured in report order. */
type FigureSource = (select: (name: string) => boolean) => Figure[] | Promise<Figure[]>;

/**
 * The bench modules, in report order. `families` are the name prefixes of a
 * module's figures: under `--filter` a module is loaded only if the filter can
 * match one of them, so `--filter pick` never imports dns.ts (nor its DNS
 * server). To add a module, one line here, e.g. for bench/core.ts:
 *   { families: ["core."], load: async () => (await import("./core.js")).coreFigures },
 */
const MODULES: readonly { families: readonly string[]; load: () => Promise<FigureSource> }[] = [
  { families: ["pick.", "build.", "update."], load: async () => (await import("./pick.js")).pickFigures },
  {
    families: ["alloc.", "attempt.", "pick.upstream.", "pick.megamorphic.", "flip."],
    load: async () => (await import("./core.js")).coreFigures,
  },
  { families: ["dns."], load: async () => (await import("./dns.js")).dnsFigures },
  { families: ["breaker.", "health.timers."], load: async () => (await import("./breaker.js")).breakerFigures },
  {
    families: ["health.outlier.", "health.passive."],
    load: async () => (await import("./health-outlier.js")).healthFigures,
  },
  { families: ["sim."], load: async () => (await import("./sim.js")).simFigures },
  { families: ["registry."], load: async () => (await import("./registry.js")).registryFigures },
  {
    families: [
      "pick.ring-hash.",
      "pick.maglev.",
      "build.ring-hash.",
      "build.maglev.",
      "update.ring-hash.",
      "update.maglev.",
      "alloc.pick.ring-hash",
      "alloc.pick.maglev",
    ],
    load: async () => (await import("./hashing.js")).hashingFigures,
  },
  { families: ["registry.etcd."], load: async () => (await import("./registry-etcd.js")).registryEtcdFigures },
];

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run bench -- [--json] [--filter <prefix>]\n`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): { json: boolean; filter: string | undefined } {
  let json = false;
  let filter: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--json") json = true;
    else if (arg === "--filter") {
      filter = argv[++i];
      if (filter === undefined) usage("--filter needs a name prefix");
    } else if (arg.startsWith("--filter=")) filter = arg.slice("--filter=".length);
    else usage(`unknown argument ${arg}`);
  }
  return { json, filter };
}

async function main(): Promise<void> {
  const { json, filter } = parseArgs(process.argv.slice(2));
  const select = (name: string) => filter === undefined || name.startsWith(filter);
  // A module is needed if the filter is inside one of its families ("pick.random") or above it ("pick", "p").
  const needed = (family: string) => filter === undefined || filter.startsWith(family) || family.startsWith(filter);
  const started = Date.now();
  const figures: Figure[] = [];
  for (const source of MODULES) {
    if (!source.families.some(needed)) continue;
    const figuresOf = await source.load();
    figures.push(...(await figuresOf(select)));
  }
  if (figures.length === 0) usage(`no figure matches --filter ${filter}`);
  if (json) {
    process.stdout.write(`${JSON.stringify({ figures: figures.map(toJson) })}\n`);
    // The sink keeps V8 from eliding the measured work; report it off stdout.
    process.stderr.write(`sink ${sinkTotal()}\n`);
    return;
  }
  process.stdout.write(`${table(figures)}\n\n`);
  process.stdout.write(
    `node ${process.version}, ${((Date.now() - started) / 1000).toFixed(1)} s; ns/op: fastest of ${ROUNDS} rounds, ` +
      `ratio: ÷ the fastest of the ${ROUNDS} baseline rounds interleaved with them; ms: median of calls (sink ${sinkTotal()})\n`,
  );
}

await main();
