/**
 * Pick, build and update figures for the balancers in src/, each beside an
 * array-index baseline measured in the same run through the same loop.
 * @module
 */
import type { BalancerContext, Endpoint, EndpointInput, Host, Picker } from "../src/index.js";
import {
  buildPriorityPlan,
  createUpstream,
  endpoint,
  MAX_WEIGHT,
  PriorityPicker,
  priorityOptions,
  random,
  roundRobin,
  staticResolver,
  systemClock,
  systemRandom,
  weightedRandom,
  weightedRoundRobin,
} from "../src/index.js";
import { seededRandom } from "../src/testing/index.js";
import type { Figure, PickerLike } from "./harness.js";
import { msPerCall, nsPerPick, sink } from "./harness.js";

/** The baseline: what a pick costs at least, `arr[i++ % n]` behind the same call shape. */
export class BaselinePicker implements PickerLike {
  readonly endpoints: readonly Endpoint[];
  private i = 0;
  private readonly n: number;

  constructor(endpoints: readonly Endpoint[]) {
    this.endpoints = endpoints;
    this.n = endpoints.length;
  }

  pick(): Endpoint | undefined {
    return this.endpoints[this.i++ % this.n];
  }
}

/** Seed of the random weights: the same endpoint sets in every run. */
const SEED = 2026;

/** `n` endpoint inputs 10.x.y.z:8080 at `priority`; weights random in 1..65535 (seeded), or all 100. */
export function endpointInputs(n: number, options: { weighted: boolean; priority?: number; seed?: number }) {
  const rng = seededRandom(options.seed ?? SEED);
  const out: EndpointInput[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      port: 8080 + (options.priority ?? 0),
      weight: options.weighted ? 1 + Math.floor(rng.next() * MAX_WEIGHT) : 100,
      priority: options.priority ?? 0,
    });
  }
  return out;
}

function endpoints(n: number, weighted: boolean, priority = 0): Endpoint[] {
  return endpointInputs(n, { weighted, priority, seed: SEED + priority }).map((e) => endpoint(e));
}

/** What the balancers get at build time: the production defaults (system clock, `Math.random`). */
const context: BalancerContext = { clock: systemClock, random: systemRandom };

/** A figure's name and how to produce its value, so `--filter` skips the setup of what it does not run. */
interface Bench {
  name: string;
  unit: string;
  run: () => number;
}

function pickBench(name: string, build: () => PickerLike): Bench {
  return { name, unit: "ns/op", run: () => nsPerPick(build()) };
}

/**
 * Two priority levels of 500 weighted endpoints; 300 of level 0 healthy:
 * health 1.4 × 60% = 84%, so 84% of picks stay on level 0 and 16% spill to
 * level 1 (Envoy's priority load), weighted round robin inside each.
 */
export function priorityPicker(): Picker {
  const hosts: Host[] = [
    ...endpoints(500, true, 0).map((e, i) => ({ endpoint: e, healthy: i % 5 < 3 })),
    ...endpoints(500, true, 1).map((e) => ({ endpoint: e, healthy: true })),
  ];
  const plan = buildPriorityPlan(hosts, weightedRoundRobin(), context, priorityOptions());
  const loads = plan.levels.map((l) => Math.round(l.load));
  if (!(plan.picker instanceof PriorityPicker) || loads[0] !== 84 || loads[1] !== 16) {
    throw new Error(`priority bench: expected loads 84/16 over two levels, got ${loads.join("/")}`);
  }
  return plan.picker;
}

/**
 * Milliseconds for a `StaticResolver.set()` that changes 1% of 10,000
 * endpoints (50 change weight, 50 are replaced by new addresses), through
 * the upstream's diff and rebuild to the picker swap. Alternates between two
 * host lists so that every call is a real 1% change.
 */
function updateUpstream(): number {
  const n = 10_000;
  const a = endpointInputs(n, { weighted: true });
  const b = a.map((e, i) => {
    if (i % 100 === 0) return { ...e, weight: (e.weight as number) === 1 ? 2 : (e.weight as number) - 1 };
    if (i % 100 === 50) return { ...e, host: `10.200.${(i >> 8) & 255}.${i & 255}` };
    return e;
  });
  const resolver = staticResolver(a);
  const upstream = createUpstream({ name: "bench", resolver });
  let swaps = 0;
  upstream.on("picker", () => swaps++);
  let flip = false;
  const value = msPerCall(() => {
    const before = upstream.picker;
    flip = !flip;
    resolver.set(flip ? b : a);
    if (upstream.picker === before) throw new Error("update bench: set() did not swap the picker");
    return upstream.pick().port;
  });
  if (swaps !== 10) throw new Error(`update bench: expected 10 picker swaps, got ${swaps}`);
  if (upstream.endpoints.length !== n) throw new Error("update bench: endpoint count changed");
  void upstream.close();
  return value;
}

/** Every pick, build and update benchmark, in report order. */
export const benches: readonly Bench[] = [
  pickBench("pick.baseline.n1000", () => new BaselinePicker(endpoints(1000, false))),
  pickBench("pick.round-robin.n1000", () => roundRobin().build(endpoints(1000, false), context)),
  pickBench("pick.weighted-round-robin.n1000", () => weightedRoundRobin().build(endpoints(1000, true), context)),
  pickBench("pick.weighted-round-robin.n100000", () => weightedRoundRobin().build(endpoints(100_000, true), context)),
  pickBench("pick.random.n1000", () => random().build(endpoints(1000, false), context)),
  pickBench("pick.weighted-random.n1000", () => weightedRandom().build(endpoints(1000, true), context)),
  pickBench("pick.priority.n1000", priorityPicker),
  {
    name: "build.weighted-round-robin.n100000",
    unit: "ms",
    run: () => {
      const set = endpoints(100_000, true);
      const balancer = weightedRoundRobin();
      return msPerCall(() => (balancer.build(set, context).pick() as Endpoint).port);
    },
  },
  { name: "update.upstream.n10000", unit: "ms", run: updateUpstream },
];

/** Runs the benchmarks whose name `select` accepts. */
export function pickFigures(select: (name: string) => boolean): Figure[] {
  const figures: Figure[] = [];
  for (const bench of benches) {
    if (!select(bench.name)) continue;
    figures.push({ name: bench.name, value: bench.run(), unit: bench.unit });
  }
  sink(figures.length);
  return figures;
}
