import type { Balancer, BalancerContext, Host, Picker } from "../balancer.js";
import { SKIP_BOUND, slotsOf } from "../balancer.js";
import { InvalidConfigError, show } from "../errors.js";
import { checkOptions } from "../options.js";
import type { EndpointTable } from "../upstream/table.js";
import { LN_IN_FLIGHT, LN_SIZE, NO_RANK } from "../upstream/table.js";
import { buildAliasTable, buildWeights, equalWeights } from "./alias-table.js";
import type { LoadMetric } from "./load-metric.js";
import { PickerRandom } from "./picker-random.js";

/** Options of `p2c()`. */
export interface P2COptions {
  /**
   * How many random choices a pick compares (Envoy `choice_count`): an
   * integer ≥ 2, default 2. More choices find a less loaded host and cost
   * one draw and one `load()` each.
   */
  choiceCount?: number;
}

/**
 * How a p2c picker compares its candidates. @internal
 *
 * - `weightExponent` 0: by `metric.load()` as it is (`p2c()`, `p2cPeakEwma()`).
 * - `weightExponent` e > 0: when the weights differ, by load /
 *   effectiveWeight^e, Envoy's `weight / (active + 1)^bias` with e = 1 / bias
 *   (`leastRequest()`). With equal weights loads are compared as they are.
 * - `ignoreLoad`: when the weights differ, not at all: the first draw wins
 *   (`leastRequest()` with bias 0). With equal weights loads are compared.
 * - `kind`: a built-in metric the picker computes itself from the table
 *   (exactly as the metric's `load()` does), saving a call per candidate
 *   and keeping its code monomorphic; absent: `metric.load()` is called.
 */
export interface P2CRule {
  readonly metric: LoadMetric;
  readonly choiceCount: number;
  readonly weightExponent: number;
  readonly ignoreLoad: boolean;
  readonly kind?: "in-flight" | "peak-ewma";
  /** For `kind: "peak-ewma"`: the metric's parameters (cells `DEFAULT_RTT`, `INV_DECAY`). */
  readonly params?: Float64Array;
}

/**
 * Peak EWMA's parameters are cells of one `Float64Array`, read by its
 * `load()` and by the pickers that compute its cost in line (doubles in a
 * typed array stay unboxed where V8 inlines the code that reads them; a
 * plain number captured there was boxed into a new heap number per load,
 * 16 B, measured). This cell: the RTT assumed before the first latency, ms.
 * @internal
 */
export const DEFAULT_RTT = 0;
/** Cell of Peak EWMA's parameters: 1 / decayMs. @internal */
export const INV_DECAY = 1;

const IN_FLIGHT = 0;
const PEAK_EWMA = 1;
const CALL = 2;

function kindOf(rule: P2CRule): number {
  return rule.kind === "in-flight" ? IN_FLIGHT : rule.kind === "peak-ewma" ? PEAK_EWMA : CALL;
}

/**
 * Built-in metrics that `p2c()` computes in line rather than calling their
 * `load()`: `peakEwma()` registers each metric it makes. @internal
 */
export const BUILT_IN_METRICS = new WeakMap<LoadMetric, { kind: "peak-ewma"; params: Float64Array }>();

/** The `params` of a rule that has none (not Peak EWMA). */
const NO_PARAMS = new Float64Array(2);

/**
 * True when Peak EWMA costs slot a less than slot b (see `peakEwma()`):
 * estimate × e^(−age / decayMs) × (inFlight + 1), or the default RTT ×
 * (inFlight + 1) for a slot with no estimate.
 *
 * - Both with an estimate: compared in logarithms, loadKey + ln(inFlight + 1)
 *   with loadKey = ln(estimate) + stamp / decayMs: the decay to "now" is a
 *   factor common to both, so no clock is read and no `exp()` runs.
 * - Neither: default × (inFlight + 1) each, so the in-flight counts decide
 *   (unless the default is 0: a tie).
 * - One (a new endpoint against known ones, rare): as `load()` computes it,
 *   the estimate decayed to the attempt time (`table.attemptTime`).
 *
 * Only a boolean leaves the function (see `P2CPicker.#lessBit`).
 */
function peakEwmaLess(table: EndpointTable, a: number, b: number, params: Float64Array): boolean {
  const keys = table.loadKey;
  const inFlight = table.inFlight;
  const pa = inFlight[a] as number;
  const pb = inFlight[b] as number;
  const ka = keys[a] as number;
  const kb = keys[b] as number;
  if (Number.isNaN(ka) || Number.isNaN(kb)) {
    const rtt = params[DEFAULT_RTT] as number;
    if (Number.isNaN(ka) && Number.isNaN(kb)) return pa < pb && rtt > 0;
    return Number.isNaN(ka)
      ? rtt * (pa + 1) < peakEwmaEstimateNow(table, b, params) * (pb + 1)
      : peakEwmaEstimateNow(table, a, params) * (pa + 1) < rtt * (pb + 1);
  }
  const la = pa < LN_SIZE ? (LN_IN_FLIGHT[pa] as number) : Math.log(pa + 1);
  const lb = pb < LN_SIZE ? (LN_IN_FLIGHT[pb] as number) : Math.log(pb + 1);
  return ka + la < kb + lb;
}

/**
 * `peakEwmaLess()` as 1 or 0, its usual case (both slots with an estimate)
 * in one comparison of two integers, `table.loadRank` (loadKey + ln(inFlight
 * + 1) in fixed point, kept by the table as counts move): a slot with no
 * estimate (`NO_RANK`) alone takes the general comparison. @internal
 */
function peakEwmaLessBit(table: EndpointTable, a: number, b: number, params: Float64Array): number {
  const ra = table.loadRank[a] as number;
  const rb = table.loadRank[b] as number;
  if (ra === NO_RANK || rb === NO_RANK) return +peakEwmaLess(table, a, b, params);
  return +(ra < rb);
}

/**
 * A slot's Peak EWMA estimate (not NaN) decayed to the attempt time, as
 * `load()` takes it: × e^(−age / decayMs), age = attemptTime − stamp when > 0. @internal
 */
export function peakEwmaEstimateNow(table: EndpointTable, slot: number, params: Float64Array): number {
  const estimate = table.loadEstimate[slot] as number;
  const age = (table.attemptTime[0] as number) - (table.loadStamp[slot] as number);
  return age > 0 ? estimate * Math.exp(-age * (params[INV_DECAY] as number)) : estimate;
}

/** The `downHosts` of a picker that does not skip (a level in panic): always 0. */
const NOTHING_DOWN = new Int32Array(1);

const TWO_31 = 2147483648;
/**
 * Up to this many hosts, one 31-bit draw x gives both choices of a
 * two-choice pick: the first is ⌊x·n / 2^31⌋, the second ⌊r·(n - 1) / 2^31⌋
 * with r = x·n mod 2^31 (then shifted past the first). Each pair then has a
 * probability within n²/2^31 (≤ 0.05%) of 1/(n(n - 1)); above it, two draws.
 */
const SPLIT_MAX = 1024;
/** `P2CPicker`'s draw paths (see `#path`). */
const SPLIT = 0;
const TWO_DRAWS = 1;
const GENERAL = 2;
/** Up to this many hosts, one 31-bit draw x gives a weighted choice (see `WeightedP2CPicker.#draw`): x·n stays exact. */
const WEIGHTED_SPLIT_MAX = 1 << 21;

/**
 * ⌊x·m / 2^31⌋ for 0 ≤ x < 2^31 and 0 ≤ m < 2^16, exactly, in int32
 * arithmetic (no double, no rounding check): with x = xh·2^16 + xl, it is
 * ⌊(xh·m + ⌊xl·m / 2^16⌋) / 2^15⌋, every term below 2^31.
 */
function mulHigh31(x: number, m: number): number {
  // Math.imul: the products fit in 31 bits, so it is the exact product, with no overflow check.
  return (Math.imul(x >>> 16, m) + (Math.imul(x & 0xffff, m) >>> 16)) >>> 15;
}

/**
 * Power of `choiceCount` random choices over hosts of equal weight
 * (Mitzenmacher; tower's `p2c::Balance`, Finagle's P2C, Envoy
 * least_request's P2C): each pick compares `choiceCount` distinct hosts
 * drawn uniformly (all of them when there are no more) and returns the one
 * with the lowest load; a tie goes to the first drawn. Distinct, as tower
 * and Finagle draw them and as Envoy documents its P2C ("a host with the
 * highest number of active requests will never receive new requests"; its
 * code draws with replacement): a host more loaded than every other gets
 * nothing, where independent draws would still give it 1/n² of the picks
 * (with 11 hosts, 0.8%: more than a p99.9 can absorb). Loads are read from
 * the table at pick time, so a new in-flight count or load estimate needs
 * no rebuild. O(choiceCount) per pick, allocation-free.
 *
 * With `skipEjected`, while `downHosts` says some host is down, a draw that
 * lands on a down host is drawn again (among the hosts not drawn yet);
 * after SKIP_BOUND such draws in one pick it returns the best eligible host
 * drawn so far, or `undefined` when there is none (the upstream then
 * rebuilds over the eligible hosts).
 */
class P2CPicker implements Picker {
  readonly hosts: readonly Host[];
  readonly #slots: Int32Array;
  readonly #table: EndpointTable;
  readonly #n: number;
  /**
   * How `pick()` draws: `SPLIT` (two choices from one draw, `SPLIT_MAX`),
   * `TWO_DRAWS` (two choices, a draw each), `GENERAL` (`choiceCount` ≠ 2 or
   * fewer than 2 hosts: `#pickDistinct`). A small integer, not booleans: V8
   * tests a boolean field for truthiness in general, a few instructions more
   * per pick.
   */
  readonly #path: number;
  /** The context's `downHosts` when skipping ejected hosts, else a cell that stays 0. */
  readonly #down: Int32Array;
  readonly #random: PickerRandom;
  readonly #choices: number;
  readonly #kind: number;
  readonly #metric: LoadMetric;
  readonly #params: Float64Array;
  /** A permutation of the host indexes, for distinct draws by partial Fisher–Yates. */
  readonly #order: Int32Array;

  constructor(hosts: readonly Host[], context: BalancerContext, rule: P2CRule) {
    const n = hosts.length;
    this.hosts = hosts;
    this.#slots = slotsOf(hosts);
    this.#table = context.table;
    this.#n = n;
    this.#path = rule.choiceCount !== 2 || n < 2 ? GENERAL : n <= SPLIT_MAX ? SPLIT : TWO_DRAWS;
    this.#down = context.skipEjected ? context.downHosts : NOTHING_DOWN;
    this.#random = new PickerRandom(context.random);
    this.#choices = rule.choiceCount;
    this.#kind = kindOf(rule);
    this.#metric = rule.metric;
    this.#params = rule.params ?? NO_PARAMS;
    this.#order = new Int32Array(n);
    for (let i = 0; i < n; i++) this.#order[i] = i;
  }

  pick(): Host | undefined {
    const n = this.#n;
    const path = this.#path;
    if (this.#down[0] !== 0 || path === GENERAL) return this.#pickDistinct();
    // Two distinct choices: the first uniform over n, the second over the n - 1 others.
    let first: number;
    let second: number;
    if (path === SPLIT) {
      const x = this.#random.next31();
      first = mulHigh31(x, n);
      // x·n mod 2^31: the low bits of the product, exact in int32 arithmetic.
      second = mulHigh31(Math.imul(x, n) & 0x7fffffff, n - 1);
    } else {
      first = this.#random.below(n);
      second = this.#random.below(n - 1);
    }
    // Past the first, without a branch (which way is a coin flip): + 1 when second >= first.
    second += (first - second - 1) >>> 31;
    // second when it is less loaded, else first, without a branch (which way is a coin flip under load).
    const take = this.#lessBit(this.#slots[second] as number, this.#slots[first] as number);
    return this.hosts[first + ((second - first) & -take)];
  }

  /**
   * 1 when slot a is less loaded than slot b, else 0: an integer, so that
   * the two-choice pick selects without a branch on it (under load which
   * candidate wins is a coin flip: a branch would be mispredicted about
   * every other pick; see docs/balancing.md). Loads never leave this method: only an integer
   * crosses the call, so no double is boxed even where V8 does not inline
   * it (a double returned or passed out of line costs a 16-byte heap number).
   */
  #lessBit(a: number, b: number): number {
    const table = this.#table;
    const kind = this.#kind;
    if (kind === IN_FLIGHT) return +((table.inFlight[a] as number) < (table.inFlight[b] as number));
    if (kind === PEAK_EWMA) return peakEwmaLessBit(table, a, b, this.#params);
    return +(this.#metric.load(table, a) < this.#metric.load(table, b));
  }

  /**
   * The general pick: `choiceCount` distinct hosts by partial Fisher–Yates
   * over `#order` (draw j swaps a random one of the n - j hosts not drawn
   * yet into place j), skipping down hosts while some are down; see the
   * class comment.
   */
  #pickDistinct(): Host | undefined {
    const n = this.#n;
    const order = this.#order;
    const down = this.#down[0] !== 0 ? this.#table.down : undefined;
    let best = -1;
    let wanted = this.#choices;
    let misses = 0;
    for (let j = 0; j < n; j++) {
      const r = j + this.#random.below(n - j);
      const i = order[r] as number;
      order[r] = order[j] as number;
      order[j] = i;
      const slot = this.#slots[i] as number;
      if (down !== undefined && down[slot] !== 0) {
        if (++misses === SKIP_BOUND) break;
        continue;
      }
      if (best < 0 || this.#lessBit(slot, this.#slots[best] as number) === 1) best = i;
      if (--wanted === 0) break;
    }
    return best < 0 ? undefined : this.hosts[best];
  }
}

/**
 * Power of `choiceCount` random choices over hosts of unequal weights: each
 * draw chooses a host with probability weight / Σweight (the effective
 * weights at build time, `buildWeights`; alias method), independently; the
 * candidates are compared by load /
 * effectiveWeight^e (e = `weightExponent`; 0 for p2c: the load alone), the
 * lowest winning, a tie going to the first drawn; with `ignoreLoad` the
 * first draw wins (weighted random). Skipping and allocation as
 * `P2CPicker`. O(choiceCount) per pick.
 *
 * Independent rather than distinct draws keep each host's share within
 * bounds its weight sets: with share p it is every choice of a pick with
 * probability p^choiceCount and some choice with 1 − (1 − p)^choiceCount.
 * Were every pick to compare both hosts of a 99/1 pair, the canary would
 * take every pick in which it is less loaded.
 */
class WeightedP2CPicker implements Picker {
  readonly hosts: readonly Host[];
  readonly #slots: Int32Array;
  readonly #table: EndpointTable;
  readonly #n: number;
  readonly #split: boolean;
  readonly #down: Int32Array;
  readonly #random: PickerRandom;
  readonly #metric: LoadMetric;
  readonly #choices: number;
  readonly #kind: number;
  readonly #params: Float64Array;
  readonly #ignoreLoad: boolean;
  readonly #exponent: number;
  /** Each host's effective weight at build time, by index. */
  readonly #weights: Float64Array;
  /** Each host's build-time effective weight^exponent, by index: the divisor while `effectiveWeight` stays at it. */
  readonly #divisors: Float64Array;
  readonly #alias: Int32Array;
  /** Bucket b keeps its primary when a 31-bit number is below threshold[b] = ⌊2^31 × share / total⌋. */
  readonly #threshold: Int32Array;

  constructor(hosts: readonly Host[], context: BalancerContext, rule: P2CRule, weights: Float64Array) {
    const n = hosts.length;
    this.hosts = hosts;
    this.#slots = slotsOf(hosts);
    this.#table = context.table;
    this.#n = n;
    this.#split = n <= WEIGHTED_SPLIT_MAX;
    this.#down = context.skipEjected ? context.downHosts : NOTHING_DOWN;
    this.#random = new PickerRandom(context.random);
    this.#metric = rule.metric;
    this.#choices = rule.choiceCount;
    this.#kind = kindOf(rule);
    this.#params = rule.params ?? NO_PARAMS;
    this.#ignoreLoad = rule.ignoreLoad;
    this.#exponent = rule.weightExponent;
    this.#weights = new Float64Array(n);
    this.#divisors = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const h = hosts[i] as Host;
      const effective = context.table.effectiveWeight[h.slot] as number;
      const w = effective > 0 ? effective : h.endpoint.weight;
      this.#weights[i] = w;
      this.#divisors[i] = w ** rule.weightExponent;
    }
    const table = buildAliasTable(hosts, weights);
    this.#alias = table.alias;
    this.#threshold = new Int32Array(n);
    for (let b = 0; b < n; b++) {
      const share = table.share[b] as number;
      // A full bucket never goes to its alias: 2^31 - 1 is above every number but the last.
      this.#threshold[b] = share >= table.total ? 0x7fffffff : Math.floor((share / table.total) * TWO_31);
    }
  }

  pick(): Host | undefined {
    const skipping = this.#down[0] !== 0;
    const down = this.#table.down;
    let best = -1;
    let wanted = this.#choices;
    let misses = 0;
    for (;;) {
      const i = this.#draw();
      if (skipping && down[this.#slots[i] as number] !== 0) {
        if (++misses === SKIP_BOUND) break;
        continue;
      }
      if (this.#ignoreLoad) return this.hosts[i];
      if (best < 0 || this.#cheaper(i, best)) best = i;
      if (--wanted === 0) break;
    }
    return best < 0 ? undefined : this.hosts[best];
  }

  /**
   * True when host i costs less than host j: load / effectiveWeight^exponent,
   * compared by cross-multiplication (a pick divides nothing). Only a boolean
   * leaves the method (see `P2CPicker.#lessBit`).
   */
  #cheaper(i: number, j: number): boolean {
    const table = this.#table;
    const a = this.#slots[i] as number;
    const b = this.#slots[j] as number;
    let loadA: number;
    let loadB: number;
    const kind = this.#kind;
    if (kind === IN_FLIGHT) {
      loadA = table.inFlight[a] as number;
      loadB = table.inFlight[b] as number;
    } else if (kind === PEAK_EWMA) {
      // p2c() and p2cPeakEwma() compare Peak EWMA costs as they are (weightExponent 0).
      return peakEwmaLessBit(table, a, b, this.#params) === 1;
    } else {
      // + makes them doubles: a tagged call result in the merge would box the other arms' doubles.
      loadA = +this.#metric.load(table, a);
      loadB = +this.#metric.load(table, b);
    }
    if (this.#exponent === 0) return loadA < loadB;
    // effectiveWeight^exponent, read at pick time; no `**` while it equals the endpoint's weight.
    const ewA = table.effectiveWeight[a] as number;
    const ewB = table.effectiveWeight[b] as number;
    const divisorA = ewA === this.#weights[i] ? (this.#divisors[i] as number) : ewA ** this.#exponent;
    const divisorB = ewB === this.#weights[j] ? (this.#divisors[j] as number) : ewB ** this.#exponent;
    return loadA * divisorB < loadB * divisorA;
  }

  /**
   * A host index by weight: a bucket b, then its primary or its alias by
   * comparing a 31-bit number with the bucket's threshold, without a branch
   * (mask = -1 when below, else 0). Both come from one draw x while x·n is
   * exact: b = ⌊x·n / 2^31⌋ and the number is x·n mod 2^31, uniform over the
   * multiples of n below 2^31 (each bucket's split is exact to n/2^31);
   * else from two draws.
   */
  #draw(): number {
    const n = this.#n;
    let b: number;
    let r: number;
    if (this.#split) {
      const p = this.#random.next31() * n;
      b = Math.floor(p / TWO_31);
      r = p - b * TWO_31;
    } else {
      b = this.#random.below(n);
      r = this.#random.next31();
    }
    const mask = (r - (this.#threshold[b] as number)) >> 31;
    return (b & mask) | ((this.#alias[b] as number) & ~mask);
  }
}

/**
 * Power of two choices over a load metric (tower's `p2c::Balance` over a
 * `Load`; Envoy least_request's P2C, choice_count 2): each pick compares
 * `choiceCount` random hosts and takes the one with the lowest
 * `metric.load(table, slot)`; a tie goes to the first drawn. With equal
 * weights the hosts are distinct and uniform (tower, Finagle). With unequal
 * weights each is drawn independently with probability weight / Σweight
 * (`table.effectiveWeight` at build time: the endpoint's weight, ramped by
 * slow start, for which the upstream rebuilds while an endpoint warms; see
 * `buildWeights`). The metric alone decides between candidates; weights
 * decide only how often a host is a candidate, so an idle upstream (every
 * load equal) is balanced exactly by weight. The metric's `update()` runs
 * on every ended attempt (the balancer exposes it as `metric`).
 *
 * O(choiceCount) per pick, allocation-free. Ejected hosts are redrawn
 * outside panic, up to 16 redraws a pick (see `Picker`).
 *
 * @example
 * createUpstream({ name: "api", resolver, balancer: p2c(inFlightLoad(), { choiceCount: 3 }) });
 * @throws InvalidConfigError for a metric without `name` and `load()`, or a
 * `choiceCount` that is not an integer ≥ 2.
 */
export function p2c(metric: LoadMetric, options?: P2COptions): Balancer {
  const o = checkOptions<P2COptions>(options, "p2c()");
  if (
    typeof metric !== "object" ||
    metric === null ||
    typeof metric.name !== "string" ||
    typeof metric.load !== "function" ||
    (metric.update !== undefined && typeof metric.update !== "function")
  ) {
    throw new InvalidConfigError("metric", "must be a LoadMetric ({ name, load(table, slot), update? })");
  }
  const builtIn = BUILT_IN_METRICS.get(metric);
  return p2cBalancer(`p2c:${metric.name}`, {
    metric,
    choiceCount: choiceCount(o.choiceCount),
    weightExponent: 0,
    ignoreLoad: false,
    kind: builtIn?.kind,
    params: builtIn?.params,
  });
}

/** A p2c balancer named `name` comparing by `rule`. @internal */
export function p2cBalancer(name: string, rule: P2CRule): Balancer {
  return {
    name,
    metric: rule.metric,
    build(hosts: readonly Host[], context: BalancerContext): Picker {
      const weights = buildWeights(hosts, context.table);
      return equalWeights(hosts, weights)
        ? new P2CPicker(hosts, context, rule)
        : new WeightedP2CPicker(hosts, context, rule, weights);
    },
  };
}

/** Checks `choiceCount`: an integer ≥ 2, default 2. @internal */
export function choiceCount(value: unknown): number {
  if (value === undefined) return 2;
  if (!(Number.isSafeInteger(value) && (value as number) >= 2)) {
    throw new InvalidConfigError("choiceCount", `must be an integer >= 2, got ${show(value)}`);
  }
  return value as number;
}
