import type {
  Balancer,
  BalancerContext,
  Host,
  LoadMetric,
  Picker,
  PluginContext,
  Timer,
  UpstreamPlugin,
} from "switchyard";
import { createUpstream, inFlightLoad, isFailure, staticResolver } from "switchyard";
import { ManualClock, seededRandom } from "switchyard/testing";

/** Draws of two a pick makes before it gives up on a level whose hosts are mostly ejected. */
const DRAWS = 8;

/**
 * The less loaded of two random choices (Envoy least_request with
 * choice_count 2; tower's p2c), generic over a `LoadMetric`.
 */
class TwoChoicesPicker implements Picker {
  readonly hosts: readonly Host[];
  readonly #context: BalancerContext;
  readonly #metric: LoadMetric;
  // A picker-local generator (xorshift32), seeded once from the injected Random:
  // integer state in a typed array, so a draw allocates nothing.
  readonly #state = new Int32Array(1);

  constructor(hosts: readonly Host[], context: BalancerContext, metric: LoadMetric) {
    this.hosts = hosts;
    this.#context = context;
    this.#metric = metric;
    this.#state[0] = Math.floor(context.random.next() * 2 ** 31) | 1;
  }

  pick(): Host | undefined {
    // The table's columns are read at pick time, never kept: they are replaced when the table grows.
    const table = this.#context.table;
    const skip = this.#context.skipEjected;
    for (let k = 0; k < DRAWS; k++) {
      const a = this.#draw();
      const b = this.#draw();
      const aUp = !skip || table.down[a.slot] === 0;
      const bUp = !skip || table.down[b.slot] === 0;
      if (aUp && bUp) return this.#metric.load(table, b.slot) < this.#metric.load(table, a.slot) ? b : a;
      if (aUp) return a;
      if (bUp) return b;
    }
    return undefined; // the upstream rebuilds the level over its eligible hosts and picks again
  }

  #draw(): Host {
    let x = this.#state[0] as number;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state[0] = x;
    return this.hosts[Math.floor(((x >>> 1) * this.hosts.length) / 2 ** 31)] as Host;
  }
}

function twoChoices(metric: LoadMetric): Balancer {
  return {
    name: `two-choices:${metric.name}`,
    metric,
    build: (hosts, context) => new TwoChoicesPicker(hosts, context, metric),
  };
}

/**
 * Ejects an endpoint after `limit` failures in a row (as `isFailure` reads
 * them) and lets it back `coolDownMs` later: Envoy outlier detection's
 * consecutive_5xx, simplified (a fixed ejection time, no max_ejection_percent).
 */
function ejectAfterFailures(limit: number, coolDownMs: number): UpstreamPlugin {
  let ctx: PluginContext;
  // Per-endpoint state by slot, in typed arrays grown with the table.
  let streak = new Int32Array(0);
  let ejectedAt = new Float64Array(0);
  const returns: (Timer | undefined)[] = [];
  let ejections = 0;

  return {
    name: "eject-after-failures",
    attach(context) {
      ctx = context;
    },
    onJoin(host) {
      if (host.slot >= streak.length) {
        const capacity = ctx.table.capacity;
        const longer = new Int32Array(capacity);
        longer.set(streak);
        streak = longer;
        const later = new Float64Array(capacity);
        later.set(ejectedAt);
        ejectedAt = later;
      }
      streak[host.slot] = 0;
      ejectedAt[host.slot] = Number.NaN;
    },
    onLeave(host) {
      returns[host.slot]?.cancel();
      returns[host.slot] = undefined;
    },
    onOutcome(host, outcome) {
      const slot = host.slot;
      if (!isFailure(outcome)) {
        if (outcome.failure === undefined) streak[slot] = 0; // an answer that is not a 5xx
        return; // cancelled and abandoned attempts say nothing about the endpoint
      }
      if (ctx.ejected(host)) return; // attempts still ending after the ejection
      const failures = (streak[slot] as number) + 1;
      streak[slot] = failures;
      if (failures < limit) return;
      streak[slot] = 0;
      ejections++;
      ejectedAt[slot] = ctx.clock.now();
      ctx.eject(host, true);
      returns[slot] = ctx.clock.setTimer(() => {
        returns[slot] = undefined;
        ctx.eject(host, false);
      }, coolDownMs);
    },
    describe: () => ({ ejections }),
    describeEndpoint: (host) =>
      ctx.ejected(host)
        ? { ejectedAt: ejectedAt[host.slot], returnsAt: (ejectedAt[host.slot] as number) + coolDownMs }
        : undefined,
    close() {
      for (const timer of returns) timer?.cancel();
      returns.length = 0;
    },
  };
}

const clock = new ManualClock();
const upstream = createUpstream({
  name: "api",
  resolver: staticResolver(["http://10.0.0.1:8080", "http://10.0.0.2:8080", "http://10.0.0.3:8080"]),
  balancer: twoChoices(inFlightLoad()),
  plugins: [ejectAfterFailures(3, 1000)],
  clock,
  random: seededRandom(7),
});
await upstream.ready();

// One attempt per millisecond for 3 s: 10.0.0.1 answers in 10 ms, 10.0.0.2 in
// 30 ms, 10.0.0.3 refuses connections after 1 ms (failing fast, it looks the least loaded).
const picks: Record<string, number> = {};
for (let ms = 0; ms < 3000; ms++) {
  const attempt = upstream.begin();
  const id = upstream.endpointOf(attempt)?.id ?? "";
  picks[id] = (picks[id] ?? 0) + 1;
  if (id === "10.0.0.3:8080") clock.setTimer(() => upstream.end(attempt, { failure: "connect" }), 1);
  else clock.setTimer(() => upstream.end(attempt, { status: 200 }), id === "10.0.0.1:8080" ? 10 : 30);
  clock.advance(1);
}

const snapshot = upstream.snapshot();
for (const e of snapshot.endpoints) {
  const { id } = e.endpoint;
  const counts = `${picks[id]} picks, ${e.failures} failures, ${e.inFlight} in flight, last ${e.lastLatencyMs} ms`;
  console.log(`${id} ${e.health} [${e.ejections.join()}] ${counts}`, JSON.stringify(e.plugins));
}
console.log(JSON.stringify({ attempts: snapshot.attempts, plugins: snapshot.plugins }));
await upstream.close();
