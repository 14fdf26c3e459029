/**
 * `npm run bench`: every figure of the suite, measured in one run.
 *
 *   npm run bench                      a table, pick figures with their ratio to the baseline
 *   npm run bench -- --json            one JSON object {"figures":[{name,value,unit}...]} on stdout
 *   npm run bench -- --filter <prefix> only figures whose name starts with <prefix>
 * @module
 */
import type { Figure } from "./harness.js";
import { round, sinkTotal, table } from "./harness.js";
import { pickFigures } from "./pick.js";

const BASELINE = "pick.baseline.n1000";
/** Name prefixes of the figures measured in this directory's pick.ts; everything else comes from dns.ts. */
const LOCAL = ["pick.", "build.", "update."];

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
  // A filter inside the local families (e.g. "pick", "pick.random") needs no DNS setup.
  const localOnly = filter !== undefined && LOCAL.some((p) => filter.startsWith(p) || `${filter}.` === p);
  const started = Date.now();
  const figures: Figure[] = pickFigures(select);
  if (!localOnly) {
    const { dnsFigures } = await import("./dns.js");
    figures.push(...(await dnsFigures(select)));
  }
  if (figures.length === 0) usage(`no figure matches --filter ${filter}`);
  if (json) {
    const out = { figures: figures.map((f) => ({ name: f.name, value: round(f.value), unit: f.unit })) };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    // The sink keeps V8 from eliding the measured work; report it off stdout.
    process.stderr.write(`sink ${sinkTotal()}\n`);
    return;
  }
  process.stdout.write(`${table(figures, BASELINE)}\n\n`);
  process.stdout.write(
    `node ${process.version}, ${((Date.now() - started) / 1000).toFixed(1)} s, median of rounds after warm-up (sink ${sinkTotal()})\n`,
  );
}

await main();
