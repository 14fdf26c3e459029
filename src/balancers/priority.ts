import type { Balancer, BalancerContext, Host, PickContext, Picker } from "../balancer.js";
import { EMPTY_PICKER } from "../balancer.js";
import type { Endpoint } from "../endpoint.js";
import { InvalidConfigError } from "../errors.js";
import type { Random } from "../random.js";

/** How traffic spreads over priority levels (Envoy's priority load). */
export interface PriorityOptions {
  /**
   * A level keeps all its traffic while healthy/total × factor ≥ 1 (Envoy
   * overprovisioning factor; default 1.4: a level keeps everything down to
   * ~71.4% healthy, and spills the rest to the next level).
   */
  overprovisioningFactor?: number;
  /**
   * Percent of a level's endpoints that must be healthy; below it, when the
   * levels together are not healthy enough, the level ignores health and uses
   * all its endpoints rather than fail everything (Envoy panic threshold,
   * default 50; 0 disables panic: unhealthy endpoints then never take traffic).
   */
  panicThreshold?: number;
}

/** One priority level's figures, as `snapshot()` reports them. */
export interface PriorityLevel {
  /** The priority value (lower takes traffic first). */
  readonly priority: number;
  /** Endpoints in the level with weight > 0. */
  readonly total: number;
  /** How many of them are healthy. */
  readonly healthy: number;
  /** Percent of traffic this level takes, 0..100. */
  readonly load: number;
  /** True when the level ignores health (panic mode). */
  readonly panic: boolean;
}

/** A built priority picker and the figures it was built from. */
export interface PriorityPlan {
  readonly picker: Picker;
  readonly levels: readonly PriorityLevel[];
}

/** Validates and fills in `PriorityOptions`. */
export function priorityOptions(options: PriorityOptions = {}): Required<PriorityOptions> {
  const overprovisioningFactor = options.overprovisioningFactor ?? 1.4;
  const panicThreshold = options.panicThreshold ?? 50;
  if (!(Number.isFinite(overprovisioningFactor) && overprovisioningFactor >= 1)) {
    throw new InvalidConfigError(
      "priority.overprovisioningFactor",
      `must be a number >= 1, got ${overprovisioningFactor}`,
    );
  }
  if (!(Number.isFinite(panicThreshold) && panicThreshold >= 0 && panicThreshold <= 100)) {
    throw new InvalidConfigError("priority.panicThreshold", `must be a percentage in 0..100, got ${panicThreshold}`);
  }
  return { overprovisioningFactor, panicThreshold };
}

/**
 * Envoy's priority load: level health = min(100, factor × 100 × healthy/total);
 * loads fill from the lowest priority; when the levels' health sums to under
 * 100 the loads are normalized to 100 and a level below the panic threshold
 * is in panic. With nothing healthy anywhere, the first level takes all the
 * traffic in panic (or nothing, when panic is disabled).
 *
 * `counts` lists each level's `[total, healthy]`, lowest priority first.
 */
export function priorityLoads(
  counts: readonly (readonly [total: number, healthy: number])[],
  options: Required<PriorityOptions>,
): { load: number[]; panic: boolean[] } {
  const health = counts.map(([total, healthy]) =>
    total === 0 ? 0 : Math.min(100, (options.overprovisioningFactor * 100 * healthy) / total),
  );
  const sum = health.reduce((a, b) => a + b, 0);
  const load = counts.map(() => 0);
  const panic = counts.map(() => false);
  if (counts.length === 0) return { load, panic };
  if (sum === 0) {
    if (options.panicThreshold > 0) {
      load[0] = 100;
      panic[0] = true;
    }
    return { load, panic };
  }
  const totalHealth = Math.min(100, sum);
  let remaining = 100;
  for (let i = 0; i < counts.length; i++) {
    const l = Math.min(((health[i] as number) * 100) / totalHealth, remaining);
    load[i] = l;
    remaining -= l;
  }
  if (sum < 100) {
    for (let i = 0; i < counts.length; i++) {
      const [total, healthy] = counts[i] as readonly [number, number];
      panic[i] = (load[i] as number) > 0 && (healthy * 100) / total < options.panicThreshold;
    }
  }
  return { load, panic };
}

/** 1/φ: steps of the level sequence; its multiples mod 1 are the most evenly spread of any step. */
const GOLDEN = 0.6180339887498949;

/**
 * Chooses a level by its load, then asks that level's picker. The level comes
 * from a low-discrepancy sequence (x += 1/φ mod 1, from a random start)
 * rather than a random number per pick: a level's count drifts from k × its
 * load like log k, where random choice drifts like √k (within 6 over 20,000
 * picks, property-tested; about 5 by 10⁶ picks). Spill traffic is spread
 * evenly instead of in random clumps, and a pick costs no random draw.
 * The random start keeps a fleet of clients out of step.
 */
export class PriorityPicker implements Picker {
  readonly endpoints: readonly Endpoint[];
  private readonly pickers: readonly Picker[];
  private readonly cumulative: Float64Array;
  private readonly last: number;
  private x: number;

  /** `loads` are percentages summing to 100, one per picker; `random` draws the start. */
  constructor(pickers: readonly Picker[], loads: readonly number[], random: Random) {
    this.pickers = pickers;
    this.cumulative = new Float64Array(pickers.length);
    let sum = 0;
    for (let i = 0; i < loads.length; i++) {
      sum += loads[i] as number;
      this.cumulative[i] = sum / 100;
    }
    this.last = pickers.length - 1;
    this.endpoints = pickers.flatMap((p) => p.endpoints);
    this.x = random.next();
  }

  /** Chooses the level, then passes `context` (e.g. a hash key) to that level's picker. */
  pick(context?: PickContext): Endpoint | undefined {
    let x = this.x + GOLDEN;
    if (x >= 1) x -= 1;
    this.x = x;
    let i = 0;
    while (i < this.last && x >= (this.cumulative[i] as number)) i++;
    return (this.pickers[i] as Picker).pick(context);
  }
}

/**
 * Splits hosts into priority levels, computes each level's load and panic
 * state, and builds one `balancer` picker per level that takes traffic: over
 * its healthy hosts, or over all of them in panic. With one level taking all
 * traffic, that level's picker is returned as is: no cost per pick.
 */
export function buildPriorityPlan(
  hosts: readonly Host[],
  balancer: Balancer,
  context: BalancerContext,
  options: Required<PriorityOptions>,
): PriorityPlan {
  const byPriority = new Map<number, Host[]>();
  for (const h of hosts) {
    if (h.endpoint.weight === 0) continue;
    const level = byPriority.get(h.endpoint.priority);
    if (level) level.push(h);
    else byPriority.set(h.endpoint.priority, [h]);
  }
  const priorities = [...byPriority.keys()].sort((a, b) => a - b);
  const groups = priorities.map((p) => byPriority.get(p) as Host[]);
  const counts = groups.map((g) => [g.length, g.reduce((n, h) => n + (h.healthy ? 1 : 0), 0)] as const);
  const { load, panic } = priorityLoads(counts, options);
  const levels: PriorityLevel[] = priorities.map((priority, i) => ({
    priority,
    total: (counts[i] as readonly [number, number])[0],
    healthy: (counts[i] as readonly [number, number])[1],
    load: load[i] as number,
    panic: panic[i] as boolean,
  }));
  const pickers: Picker[] = [];
  const loads: number[] = [];
  for (let i = 0; i < groups.length; i++) {
    if ((load[i] as number) <= 0) continue;
    const group = groups[i] as Host[];
    const chosen = panic[i] ? group : group.filter((h) => h.healthy);
    pickers.push(
      balancer.build(
        chosen.map((h) => h.endpoint),
        context,
      ),
    );
    loads.push(load[i] as number);
  }
  if (pickers.length === 0) return { picker: EMPTY_PICKER, levels };
  if (pickers.length === 1) return { picker: pickers[0] as Picker, levels };
  return { picker: new PriorityPicker(pickers, loads, context.random), levels };
}
