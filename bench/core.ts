/**
 * Figures of the upstream's core: allocation per pick and per attempt,
 * attempts, the shared `upstream.pick()` call site once it has seen every
 * picker kind, and eligibility flips on a 10,000-endpoint upstream.
 *
 * - `alloc.pick.<balancer>`, `alloc.pick.priority`, `alloc.attempt` (B/op):
 *   bytes per pick / per `begin()` + `end()` over 10⁶ operations, heap read
 *   after a forced GC (`bytesPerOp`). Must all be 0 (< 0.5). Load-aware
 *   pickers run over a warm table (`buildWarm`: latency history, requests in
 *   flight), so their comparisons take the usual path, not the no-data one.
 * - `attempt.begin-end.n1000` (ns/op): `begin()` then `end()` with an outcome
 *   on a 1,000-endpoint upstream on the system clock.
 * - `pick.upstream.n1000`, then `pick.megamorphic.n1000` (ns/op):
 *   `upstream.pick()` on a weighted round robin upstream, before and after the
 *   process has picked through an upstream of every balancer kind.
 * - `flip.upstream.n10000` (ms per flip): 1,000 eligibility flips one after
 *   another (500 ejections then 500 returns, a pick and 1 ms of a manual clock
 *   after each, so deferred rebuilds run as they fall due), amortized.
 * - `flip.burst.n10000` (ms): 1,000 endpoints that were left out of the
 *   picker come back together, and the one rebuild they call for runs.
 * - `alloc.pick.zone-spill` (B/op), `pick.upstream.zone-direct.n1000`,
 *   `pick.upstream.zone-spill.n1000` (ns/op): `upstream.pick()` with zone
 *   affinity, 999 weighted endpoints in three zones, routing direct (all
 *   in the caller's zone), or spill (one endpoint of the caller's zone
 *   forced down: a priority picker over the zones' pickers).
 * - `flip.zone.n10000` (ms per flip): `flip.upstream.n10000` with zone
 *   affinity over five zones (each flip recomputes the zone split).
 * @module
 */
import type { Balancer, Host, Outcome, PluginContext, Upstream, UpstreamPlugin } from "../src/index.js";
import {
  createUpstream,
  leastRequest,
  p2cPeakEwma,
  random,
  roundRobin,
  staticResolver,
  weightedRandom,
  weightedRoundRobin,
} from "../src/index.js";
import { ManualClock } from "../src/testing/index.js";
import type { Figure, Measurement } from "./harness.js";
import { bytesPerOp, figure, msPerCall, nsPerOp, opLoop, sink } from "./harness.js";
import { baselinePicker, build, buildWarm, endpointInputs, priorityPicker } from "./pick.js";

const OK: Outcome = Object.freeze({ status: 200 });
const BALANCERS: readonly (() => Balancer)[] = [
  roundRobin,
  weightedRoundRobin,
  random,
  weightedRandom,
  () => leastRequest(),
  () => p2cPeakEwma(),
];

/** A 1,000-endpoint weighted upstream on the system clock (the production defaults). */
function upstreamOf(balancer: Balancer, priorities = 1): Upstream {
  const inputs = Array.from({ length: priorities }, (_, p) =>
    endpointInputs(1000 / priorities, { weighted: true, priority: p, seed: 7 + p }),
  ).flat();
  return createUpstream({ name: `bench-${balancer.name}`, resolver: staticResolver(inputs), balancer });
}

/** 999 weighted endpoints in zones z0, z1, z2, zone affinity from z0; with `spill`, one z0 endpoint forced down. */
function zoneUpstream(spill: boolean): Upstream {
  const inputs = endpointInputs(999, { weighted: true, seed: 7 }).map((e, i) => ({ ...e, zone: `z${i % 3}` }));
  const upstream = createUpstream({
    name: "bench-zone",
    resolver: staticResolver(inputs),
    balancer: weightedRoundRobin(),
    zone: { local: "z0" },
  });
  if (spill) upstream.override(upstream.endpoints.find((e) => e.zone === "z0")?.id as string, "down");
  const routing = upstream.snapshot().levels[0]?.zoneRouting;
  if (routing !== (spill ? "spill" : "direct")) throw new Error(`zone bench: routing is ${routing}`);
  return upstream;
}

function allocFigures(select: (name: string) => boolean): Figure[] {
  const out: Figure[] = [];
  for (const make of BALANCERS) {
    const name = `alloc.pick.${make().name}`;
    if (!select(name)) continue;
    const balancer = make();
    // A load-aware picker over a warm table (latency history, requests in flight), as in production.
    const picker = balancer.metric === undefined ? build(balancer, 1000, true) : buildWarm(balancer, 1000, true);
    out.push(
      figure(
        name,
        "B/op",
        bytesPerOp(() => sink((picker.pick() as Host).slot)),
      ),
    );
  }
  if (select("alloc.pick.priority")) {
    const picker = priorityPicker();
    out.push(
      figure(
        "alloc.pick.priority",
        "B/op",
        bytesPerOp(() => sink((picker.pick() as Host).slot)),
      ),
    );
  }
  if (select("alloc.pick.zone-spill")) {
    const upstream = zoneUpstream(true);
    out.push(
      figure(
        "alloc.pick.zone-spill",
        "B/op",
        bytesPerOp(() => sink(upstream.pick().port)),
      ),
    );
    void upstream.close();
  }
  if (select("alloc.attempt")) {
    const upstream = upstreamOf(weightedRoundRobin());
    out.push(
      figure(
        "alloc.attempt",
        "B/op",
        bytesPerOp(() => sink(Number(upstream.end(upstream.begin(), OK)))),
      ),
    );
    void upstream.close();
  }
  return out;
}

function attemptFigure(): Measurement {
  const upstream = upstreamOf(weightedRoundRobin());
  const m = nsPerOp(() => {
    const token = upstream.begin();
    upstream.end(token, OK);
    return token;
  }, baselinePicker());
  const inFlight = upstream.snapshot().attempts.inFlight;
  if (inFlight !== 0) throw new Error(`attempt bench: ${inFlight} attempts left in flight`);
  void upstream.close();
  return m;
}

/** `upstream.pick()` on a weighted round robin upstream; with `mixed`, after picking through every kind. */
function upstreamPickFigure(mixed: boolean): Measurement {
  const target = upstreamOf(weightedRoundRobin());
  const others = mixed
    ? [...BALANCERS.map((make) => upstreamOf(make())), upstreamOf(weightedRoundRobin(), 2), upstreamOf(roundRobin(), 2)]
    : [];
  if (mixed) {
    // Two levels taking traffic, so the priority picker is one of the kinds the call site sees.
    for (const u of others.slice(-2)) for (const e of u.endpoints.slice(0, 350)) u.override(e.id, "down");
    const shared = opLoop();
    for (const u of [...others, target]) shared((i) => u.pick().port + i, 200_000);
  }
  const m = nsPerOp(() => target.pick().port, baselinePicker());
  for (const u of [target, ...others]) void u.close();
  return m;
}

/** A 10,000-endpoint upstream on a manual clock with a lever plug-in; `down` slots ejected as they join; `zones` > 0: zone affinity over that many zones. */
function flipUpstream(down: (i: number) => boolean, zones = 0) {
  const clock = new ManualClock();
  let ctx: PluginContext | undefined;
  let joined = 0;
  const plugin: UpstreamPlugin = {
    name: "lever",
    attach: (c) => {
      ctx = c;
    },
    onJoin: (h) => {
      if (down(joined++)) ctx?.eject(h, true);
    },
  };
  const inputs = endpointInputs(10_000, { weighted: true });
  const upstream = createUpstream({
    name: "flip",
    resolver: staticResolver(zones === 0 ? inputs : inputs.map((e, i) => ({ ...e, zone: `z${i % zones}` }))),
    clock,
    plugins: [plugin],
    zone: zones === 0 ? undefined : { local: "z0" },
  });
  const hosts = (ctx as PluginContext).hosts();
  return { upstream, clock, ctx: ctx as PluginContext, hosts };
}

function flipOneByOne(zones = 0): number {
  let state: ReturnType<typeof flipUpstream> | undefined;
  const total = msPerCall(
    () => {
      const { upstream, clock, ctx, hosts } = state as ReturnType<typeof flipUpstream>;
      let acc = 0;
      // Every 10th endpoint out, then back: 1,000 flips, each followed by a pick and 1 ms.
      for (let k = 0; k < 1000; k++) {
        ctx.eject(hosts[(k % 500) * 10 + 3] as Host, k < 500);
        acc += upstream.pick().port;
        clock.advance(1);
      }
      return acc;
    },
    {
      prepare: () => {
        if (state !== undefined) void state.upstream.close();
        state = flipUpstream(() => false, zones);
      },
    },
  );
  void state?.upstream.close();
  return total / 1000;
}

function flipBurst(): number {
  let state: ReturnType<typeof flipUpstream> | undefined;
  let swaps = 0;
  const value = msPerCall(
    () => {
      const { upstream, clock, ctx, hosts } = state as ReturnType<typeof flipUpstream>;
      const before = upstream.picker;
      for (let k = 0; k < 1000; k++) ctx.eject(hosts[k * 10] as Host, false);
      clock.advance(0);
      if (upstream.picker === before) throw new Error("flip burst bench: no rebuild happened");
      swaps++;
      return upstream.pick().port;
    },
    {
      prepare: () => {
        if (state !== undefined) void state.upstream.close();
        // 3,000 of 10,000 ejected as they join (every 10th, and the two after it among the first 1,000 groups):
        // more than a quarter, so the first build leaves them out of the picker.
        state = flipUpstream((i) => i % 10 < 3);
        const left = state.upstream.picker.hosts.length;
        if (left !== 7000) throw new Error(`flip burst bench: expected 7,000 hosts in the picker, got ${left}`);
      },
    },
  );
  void state?.upstream.close();
  if (swaps === 0) throw new Error("flip burst bench: never ran");
  return value;
}

/** Runs the core figures whose name `select` accepts, in report order. */
export function coreFigures(select: (name: string) => boolean): Figure[] {
  const figures: Figure[] = allocFigures(select);
  if (select("attempt.begin-end.n1000")) figures.push(figure("attempt.begin-end.n1000", "ns/op", attemptFigure()));
  if (select("pick.upstream.n1000")) figures.push(figure("pick.upstream.n1000", "ns/op", upstreamPickFigure(false)));
  if (select("pick.megamorphic.n1000")) {
    figures.push(figure("pick.megamorphic.n1000", "ns/op", upstreamPickFigure(true)));
  }
  if (select("flip.upstream.n10000")) figures.push(figure("flip.upstream.n10000", "ms", flipOneByOne()));
  if (select("flip.burst.n10000")) figures.push(figure("flip.burst.n10000", "ms", flipBurst()));
  for (const spill of [false, true]) {
    const name = `pick.upstream.zone-${spill ? "spill" : "direct"}.n1000`;
    if (!select(name)) continue;
    const upstream = zoneUpstream(spill);
    figures.push(
      figure(
        name,
        "ns/op",
        nsPerOp(() => upstream.pick().port, baselinePicker()),
      ),
    );
    void upstream.close();
  }
  if (select("flip.zone.n10000")) figures.push(figure("flip.zone.n10000", "ms", flipOneByOne(5)));
  return figures;
}
