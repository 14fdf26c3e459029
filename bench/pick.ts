/**
 * Pick, build and update figures for the balancers in src/, each beside an
 * array-index baseline measured in the same run through the same loop.
 * @module
 */
import type { Balancer, BalancerContext, Endpoint, EndpointInput, Host, Picker } from "../src/index.js";
import {
  createUpstream,
  endpoint,
  leastRequest,
  MAX_WEIGHT,
  p2cPeakEwma,
  random,
  roundRobin,
  staticResolver,
  systemClock,
  systemRandom,
  weightedRandom,
  weightedRoundRobin,
} from "../src/index.js";
import { seededRandom } from "../src/testing/index.js";
import { PriorityPlanner } from "../src/upstream/planner.js";
import { priorityOptions } from "../src/upstream/priority-options.js";
import { PriorityPicker } from "../src/upstream/priority-picker.js";
import type { EndpointTable } from "../src/upstream/table.js";
import { hostsOf } from "../test/helpers/picks.js";
import type { Figure, Measurement, PickerLike } from "./harness.js";
import { figure, msPerCall, nsPerPick, sink } from "./harness.js";

/** The baseline: what a pick costs at least, `arr[i++ % n]` behind the same call shape. */
export class BaselinePicker implements PickerLike {
  readonly hosts: readonly Host[];
  private i = 0;
  private readonly n: number;

  constructor(hosts: readonly Host[]) {
    this.hosts = hosts;
    this.n = hosts.length;
  }

  pick(): Host | undefined {
    return this.hosts[this.i++ % this.n];
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

/** A fresh baseline over 1,000 hosts: what every ns/op figure is interleaved with. */
export function baselinePicker(): BaselinePicker {
  return new BaselinePicker(hostsOf(endpoints(1000, false)).hosts);
}

/** What an upstream gives a balancer outside panic, with nothing down: the system clock, `Math.random`, the table. */
function productionContext(table: EndpointTable): BalancerContext {
  return { clock: systemClock, random: systemRandom, table, skipEjected: true, downHosts: new Int32Array(1) };
}

/**
 * A picker as an upstream builds it outside panic, with the production
 * defaults (system clock, `Math.random` seeding it): over hosts in a live
 * table, skipping ejected hosts at pick time.
 */
export function build(balancer: Balancer, n: number, weighted: boolean): Picker {
  const { table, hosts } = hostsOf(endpoints(n, weighted));
  return balancer.build(hosts, productionContext(table));
}

/**
 * A load-aware picker over 1,000 hosts in steady state, as an upstream that
 * has served traffic reads its table: each host has a latency history (a
 * Peak EWMA estimate learned from seeded latencies of 50 ± 10 ms, ended at
 * seeded times in the last second, so their decay differs) and 0 to 3
 * requests in flight. A freshly built table has neither, and a pick over it
 * takes the no-data branch (the default RTT) on every comparison.
 */
export function buildWarm(balancer: Balancer, n: number, weighted = false): Picker {
  const { table, hosts } = hostsOf(endpoints(n, weighted));
  const rng = seededRandom(SEED);
  for (const h of hosts) {
    table.inFlight[h.slot] = Math.floor(rng.next() * 4);
    table.lastLatencyMs[h.slot] = 40 + 20 * rng.next();
    table.lastEndedAt[h.slot] = 1000 * rng.next();
    balancer.metric?.update?.(table, h.slot, false);
  }
  table.attemptTime[0] = 1000;
  return balancer.build(hosts, productionContext(table));
}

/** A figure's name and how to produce its value, so `--filter` skips the setup of what it does not run. */
interface Bench {
  name: string;
  unit: string;
  run: () => number | Measurement;
}

function pickBench(name: string, build: () => PickerLike): Bench {
  return { name, unit: "ns/op", run: () => nsPerPick(build(), baselinePicker()) };
}

/**
 * Two priority levels of 500 weighted endpoints; 300 of level 0 healthy:
 * health 1.4 × 60% = 84%, so 84% of picks stay on level 0 and 16% spill to
 * level 1 (Envoy's priority load), weighted round robin inside each: the
 * upstream's planner, as an upstream builds it.
 */
export function priorityPicker(): Picker {
  const { table, hosts } = hostsOf([...endpoints(500, true, 0), ...endpoints(500, true, 1)]);
  for (let i = 0; i < 500; i++) {
    const slot = (hosts[i] as Host).slot;
    if (i % 5 >= 3) table.override[slot] = -1; // forced down, as Upstream.override() does
    table.refreshDown(slot);
  }
  const planner = new PriorityPlanner(weightedRoundRobin(), table, systemRandom, systemClock, priorityOptions());
  planner.rebuild(hosts);
  const loads = planner.levels().map((l) => l.load);
  if (!(planner.picker instanceof PriorityPicker) || loads[0] !== 84 || loads[1] !== 16) {
    throw new Error(`priority bench: expected loads 84/16 over two levels, got ${loads.join("/")}`);
  }
  return planner.picker;
}

/** Two host lists of 10,000 that differ in 1%: 50 weights changed, 50 addresses replaced. */
function onePercentApart(): [EndpointInput[], EndpointInput[]] {
  const a = endpointInputs(10_000, { weighted: true });
  const b = a.map((e, i) => {
    if (i % 100 === 0) return { ...e, weight: (e.weight as number) === 1 ? 2 : (e.weight as number) - 1 };
    if (i % 100 === 50) return { ...e, host: `10.200.${(i >> 8) & 255}.${i & 255}` };
    return e;
  });
  return [a, b];
}

/**
 * Milliseconds for a `StaticResolver.set()` that changes 1% of 10,000
 * endpoints, through the upstream's diff and rebuild to the picker swap:
 * `update.resolver` + `update.apply`. Alternates between the two lists so
 * that every call is a real 1% change.
 */
function updateUpstream(): number {
  const [a, b] = onePercentApart();
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
  if (upstream.endpoints.length !== 10_000) throw new Error("update bench: endpoint count changed");
  void upstream.close();
  return value;
}

/** The resolver's part of an update: `StaticResolver.set()` parses, validates and normalizes 10,000 hosts (no listener). */
function updateResolver(): number {
  const [a, b] = onePercentApart();
  const resolver = staticResolver(a);
  let flip = false;
  const value = msPerCall(() => {
    flip = !flip;
    resolver.set(flip ? b : a);
    return resolver.endpoints?.length ?? 0;
  });
  void resolver.close();
  return value;
}

/**
 * The upstream's part of an update: diff by id against 10,000 endpoints and
 * rebuild the pickers, fed with sets the resolver already normalized (the
 * `endpoints` event a resolver emits), each made of fresh endpoint objects
 * as a real refresh gives.
 */
function updateApply(): number {
  const [a, b] = onePercentApart();
  const resolver = staticResolver(a);
  const upstream = createUpstream({ name: "bench", resolver });
  // One fresh set per call of msPerCall (3 warm-up + 7 timed): b, a, b, ...
  // made by a resolver nothing listens to, so no id string was hashed yet.
  const source = staticResolver(a);
  source.start();
  const sets = Array.from({ length: 10 }, (_, k) => {
    source.set(k % 2 === 0 ? b : a);
    return source.endpoints as readonly Endpoint[];
  });
  void source.close();
  let call = 0;
  const value = msPerCall(() => {
    const before = upstream.picker;
    resolver.emit("endpoints", sets[call++] as readonly Endpoint[]);
    if (upstream.picker === before) throw new Error("apply bench: the update did not swap the picker");
    return upstream.pick().port;
  });
  void upstream.close();
  return value;
}

/** Every pick, build and update benchmark, in report order. */
export const benches: readonly Bench[] = [
  {
    name: "pick.baseline.n1000",
    unit: "ns/op",
    run: () => {
      const baseline = baselinePicker();
      return nsPerPick(baseline, baseline);
    },
  },
  pickBench("pick.round-robin.n1000", () => build(roundRobin(), 1000, false)),
  pickBench("pick.weighted-round-robin.n1000", () => build(weightedRoundRobin(), 1000, true)),
  pickBench("pick.weighted-round-robin.n100000", () => build(weightedRoundRobin(), 100_000, true)),
  pickBench("pick.random.n1000", () => build(random(), 1000, false)),
  pickBench("pick.weighted-random.n1000", () => build(weightedRandom(), 1000, true)),
  pickBench("pick.least-request.n1000", () => buildWarm(leastRequest(), 1000)),
  pickBench("pick.peak-ewma.n1000", () => buildWarm(p2cPeakEwma(), 1000)),
  pickBench("pick.priority.n1000", priorityPicker),
  {
    name: "build.weighted-round-robin.n100000",
    unit: "ms",
    run: () => {
      const { table, hosts } = hostsOf(endpoints(100_000, true));
      const context = productionContext(table);
      const balancer = weightedRoundRobin();
      return msPerCall(() => (balancer.build(hosts, context).pick() as Host).endpoint.port);
    },
  },
  { name: "update.upstream.n10000", unit: "ms", run: updateUpstream },
  { name: "update.resolver.n10000", unit: "ms", run: updateResolver },
  { name: "update.apply.n10000", unit: "ms", run: updateApply },
];

/** Runs the benchmarks whose name `select` accepts. */
export function pickFigures(select: (name: string) => boolean): Figure[] {
  const figures: Figure[] = [];
  for (const bench of benches) {
    if (!select(bench.name)) continue;
    figures.push(figure(bench.name, bench.unit, bench.run()));
  }
  sink(figures.length);
  return figures;
}
