/**
 * Figures of the consistent-hashing balancers, ring hash and Maglev.
 *
 * - `pick.ring-hash.n1000`, `pick.maglev.n1000` (ns/op): a pick with a
 *   precomputed `hash` that changes every pick (1,024 contexts, cycled), over
 *   1,000 endpoints of weight 100, beside the array-index baseline.
 * - `pick.ring-hash.key.n1000`, `pick.maglev.key.n1000` (ns/op): the same
 *   with a `hashKey` string ("user-123456", 11 code units) hashed per pick.
 * - `build.ring-hash.n1000`, `build.maglev.n1000` (ms): a picker from
 *   scratch over 1,000 endpoints of weight 100 (a fresh balancer each call).
 * - `build.ring-hash.n10000` (ms): the same over 10,000 endpoints.
 * - `update.ring-hash.n10000` (ms): one endpoint joins a 10,000-endpoint
 *   level: the build that merges its points into the balancer's previous ring.
 * - `update.maglev.n1000` (ms): one endpoint leaves a 1,000-endpoint upstream
 *   with `maglev()` (a resolver delta, `ManualResolver.change()`), within the
 *   debounce window: the upstream's update and the picker made from the last
 *   table, its entries passed on; the full build waits for the window.
 * - `alloc.pick.ring-hash`, `alloc.pick.maglev` (B/op): bytes per keyed
 *   pick, as the pick figures pick. Must be 0.
 * @module
 */

import { RingBuilder } from "../src/balancers/ring-hash.js";
import type { Balancer, BalancerContext, Host, PickContext, Picker } from "../src/index.js";
import { createUpstream, endpoint, hashKey, maglev, ringHash, systemClock, systemRandom } from "../src/index.js";
import { ManualClock, ManualResolver } from "../src/testing/index.js";
import type { EndpointTable } from "../src/upstream/table.js";
import { hostsOf } from "../test/helpers/picks.js";
import type { Figure, Measurement } from "./harness.js";
import { bytesPerOp, figure, msPerCall, nsPerOp, sink } from "./harness.js";
import { baselinePicker, endpointInputs } from "./pick.js";

/** Contexts cycled through by the pick figures: a different precomputed hash (or key) each pick. */
const CONTEXTS = 1024;

function contexts(keyed: boolean): PickContext[] {
  return Array.from({ length: CONTEXTS }, (_, i) => {
    const key = `user-${100_000 + i * 7919}`;
    return keyed ? { hashKey: key } : { hash: hashKey(key) };
  });
}

/** Hosts over `n` endpoints of weight 100 in a fresh table, and an upstream's context outside panic. */
function level(n: number): { hosts: Host[]; table: EndpointTable; context: BalancerContext } {
  const { table, hosts } = hostsOf(endpointInputs(n, { weighted: false }).map((e) => endpoint(e)));
  const context: BalancerContext = {
    clock: systemClock,
    random: systemRandom,
    table,
    skipEjected: true,
    downHosts: new Int32Array(1),
    levelHosts: hosts,
  };
  return { hosts, table, context };
}

function picker(make: () => Balancer, n: number): Picker {
  const { hosts, context } = level(n);
  return make().build(hosts, context);
}

let opCopies = 0;

/**
 * `(i) => picker.pick(list[i % CONTEXTS]).slot`, compiled from a source
 * text of its own for each figure. V8 shares inline caches between the
 * closures of one function: with one arrow function for every figure, the
 * `pick()` call in it saw every picker class measured before, and the
 * second figure paid for the first's (`pick.maglev.n1000`, measured after
 * ring hash, went from 3.3× to 5.0× when ring hash's pick changed, and was
 * 2.8× alone). Each figure's `pick()` call now sees one class, as
 * `pickLoop()` gives the pick.ts figures.
 */
function keyedPick(p: Picker, list: readonly PickContext[]): (i: number) => number {
  const make = new Function(
    "picker",
    "list",
    `/* op ${++opCopies} */ "use strict"; return (i) => picker.pick(list[i & ${CONTEXTS - 1}]).slot;`,
  ) as (picker: Picker, list: readonly PickContext[]) => (i: number) => number;
  return make(p, list);
}

function pickFigure(make: () => Balancer, keyed: boolean): Measurement {
  return nsPerOp(keyedPick(picker(make, 1000), contexts(keyed)), baselinePicker());
}

function allocFigure(make: () => Balancer): number {
  const pick = keyedPick(picker(make, 1000), contexts(false));
  return bytesPerOp((i) => sink(pick(i)));
}

function buildFigure(make: () => Balancer, n: number): number {
  const { hosts, context } = level(n);
  return msPerCall(() => (make().build(hosts, context).pick({ hash: 1 }) as Host).slot);
}

/** One endpoint joins 10,000: the untimed `prepare` builds the 10,000 (a merge that takes it out again). */
function updateFigure(): number {
  const { hosts, context } = level(10_001);
  const without = hosts.slice(0, 10_000);
  const withoutContext = { ...context, levelHosts: without };
  // The same two builds through the balancer's builder: the join must be a merge, not a rebuild.
  const check = new RingBuilder(1024, 8_388_608);
  check.build(without, withoutContext);
  check.build(hosts, context);
  if (check.merges !== 1) throw new Error(`update bench: expected the join to merge, got ${check.merges} merges`);
  const balancer = ringHash();
  balancer.build(without, withoutContext);
  return msPerCall(() => balancer.build(hosts, context).hosts.length, {
    prepare: () => balancer.build(without, withoutContext),
  });
}

/** One endpoint leaves a 1,000-endpoint Maglev upstream (and comes back, untimed, before the next call). */
function maglevUpdateFigure(): number {
  const clock = new ManualClock();
  const resolver = new ManualResolver();
  const api = createUpstream({ name: "bench", resolver, balancer: maglev(), clock });
  const inputs = endpointInputs(1000, { weighted: false });
  resolver.push(inputs);
  const leaver = inputs[500] as (typeof inputs)[number];
  const id = `${leaver.host}:${leaver.port}`;
  const ms = msPerCall(
    () => {
      resolver.change([], [id]);
      return api.picker.hosts.length;
    },
    { prepare: () => resolver.change([leaver]) },
  );
  // The clock never moved: every change waited for the window, and one full build is due.
  if (clock.pendingTimers !== 1 || api.endpoints.length !== 999) {
    throw new Error(`update.maglev bench: expected the debounced path, got ${clock.pendingTimers} timers`);
  }
  void api.close();
  return ms;
}

const BENCHES: readonly { name: string; unit: string; run: () => number | Measurement }[] = [
  { name: "pick.ring-hash.n1000", unit: "ns/op", run: () => pickFigure(ringHash, false) },
  { name: "pick.maglev.n1000", unit: "ns/op", run: () => pickFigure(maglev, false) },
  { name: "pick.ring-hash.key.n1000", unit: "ns/op", run: () => pickFigure(ringHash, true) },
  { name: "pick.maglev.key.n1000", unit: "ns/op", run: () => pickFigure(maglev, true) },
  { name: "build.ring-hash.n1000", unit: "ms", run: () => buildFigure(ringHash, 1000) },
  { name: "build.maglev.n1000", unit: "ms", run: () => buildFigure(maglev, 1000) },
  { name: "build.ring-hash.n10000", unit: "ms", run: () => buildFigure(ringHash, 10_000) },
  { name: "update.ring-hash.n10000", unit: "ms", run: updateFigure },
  { name: "update.maglev.n1000", unit: "ms", run: maglevUpdateFigure },
  { name: "alloc.pick.ring-hash", unit: "B/op", run: () => allocFigure(ringHash) },
  { name: "alloc.pick.maglev", unit: "B/op", run: () => allocFigure(maglev) },
];

/** Runs the hashing figures whose name `select` accepts, in report order. */
export function hashingFigures(select: (name: string) => boolean): Figure[] {
  const figures: Figure[] = [];
  for (const bench of BENCHES) {
    if (select(bench.name)) figures.push(figure(bench.name, bench.unit, bench.run()));
  }
  return figures;
}
