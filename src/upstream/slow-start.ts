import type { Host } from "../balancer.js";
import type { Clock, Timer } from "../clock.js";
import { MAX_DELAY } from "../clock.js";
import { InvalidConfigError, show } from "../errors.js";
import type { PriorityPlanner } from "./planner.js";
import type { EndpointTable } from "./table.js";

/**
 * Slow start (Envoy's `slow_start_config`): an endpoint that joins a running
 * upstream, or becomes eligible again, takes a share of traffic that ramps
 * up over `windowMs` instead of its full share at once.
 */
export interface SlowStartOptions {
  /** How long the ramp lasts, ms (Envoy `slow_start_window`): a number ≥ 1 and ≤ 2^31 - 1. Required. */
  windowMs: number;
  /**
   * How the ramp bends (Envoy `aggression`): the weight grows as
   * (t / window)^(1 / aggression). 1 (the default) is linear; above 1 it
   * rises fast early, below 1 it starts slow. A finite number > 0.
   */
  aggression?: number;
  /**
   * The least share of its weight a warming endpoint gets, percent (Envoy
   * `min_weight_percent`, default 10): a number in 0..100.
   */
  minWeightPercent?: number;
}

/** Steps in a window: the table-based pickers are rebuilt at most this many times in one endpoint's ramp. */
export const SLOW_START_STEPS = 20;

/**
 * Validates `UpstreamOptions.slowStart` and fills in its defaults;
 * `undefined` stays `undefined` (no slow start). Throws
 * `InvalidConfigError` naming the option.
 */
export function slowStartOptions(options: unknown): Required<SlowStartOptions> | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null) {
    throw new InvalidConfigError(
      "slowStart",
      `must be an object ({ windowMs, aggression?, minWeightPercent? }), got ${show(options)}`,
    );
  }
  const { windowMs, aggression = 1, minWeightPercent = 10 } = options as Partial<SlowStartOptions>;
  if (!(typeof windowMs === "number" && windowMs >= 1 && windowMs <= MAX_DELAY)) {
    throw new InvalidConfigError(
      "slowStart.windowMs",
      `must be a number of ms >= 1 and <= ${MAX_DELAY}, got ${show(windowMs)}`,
    );
  }
  if (!(typeof aggression === "number" && Number.isFinite(aggression) && aggression > 0)) {
    throw new InvalidConfigError("slowStart.aggression", `must be a finite number > 0, got ${show(aggression)}`);
  }
  if (!(typeof minWeightPercent === "number" && minWeightPercent >= 0 && minWeightPercent <= 100)) {
    throw new InvalidConfigError(
      "slowStart.minWeightPercent",
      `must be a percentage in 0..100, got ${show(minWeightPercent)}`,
    );
  }
  return { windowMs, aggression, minWeightPercent };
}

/**
 * The share of its weight an endpoint gets `elapsedMs` after its warm-up
 * began, as Envoy's `applySlowStartFactor` computes it:
 * max(minWeightPercent / 100, (max(elapsedMs, 1) / windowMs)^(1 / aggression))
 * while elapsedMs < windowMs, else 1. (Envoy's 1 ms floor keeps the factor
 * above 0 when `minWeightPercent` is 0.)
 */
export function slowStartFactor(elapsedMs: number, options: Required<SlowStartOptions>): number {
  if (!(elapsedMs < options.windowMs)) return 1;
  const time = Math.max(elapsedMs, 1) / options.windowMs;
  const ramp = options.aggression === 1 ? time : time ** (1 / options.aggression);
  return Math.max(options.minWeightPercent / 100, ramp);
}

/**
 * The upstream's slow-start ramp: which hosts are warming, their effective
 * weights in `table.effectiveWeight`, and one step timer for all of them.
 *
 * A warming host's effective weight is weight × `slowStartFactor()` of the
 * time since `table.warmupStart[slot]`, written when it begins warming and
 * again on every step: one timer on the upstream's clock (unref'd), every
 * `windowMs / SLOW_START_STEPS` ms while some host warms, none otherwise.
 * A step rebuilds only the levels that hold a host whose effective weight
 * changed, through the planner (the table-based pickers read weights at
 * build time); the load-aware pickers also read `effectiveWeight` at pick
 * time. A host finishes at the first step at or after the end of its
 * window, at its full weight. @internal
 */
export class SlowStartRamp {
  readonly options: Required<SlowStartOptions>;
  /** Time between two steps, ms. */
  readonly stepMs: number;
  readonly #table: EndpointTable;
  readonly #clock: Clock;
  readonly #planner: PriorityPlanner;
  readonly #rebuilt: () => void;
  readonly #warming = new Set<Host>();
  #timer: Timer | undefined;
  #closed = false;

  /** `rebuilt` runs after a step rebuilt pickers (the upstream swaps the new picker in). */
  constructor(
    options: Required<SlowStartOptions>,
    table: EndpointTable,
    clock: Clock,
    planner: PriorityPlanner,
    rebuilt: () => void,
  ) {
    this.options = options;
    this.stepMs = options.windowMs / SLOW_START_STEPS;
    this.#table = table;
    this.#clock = clock;
    this.#planner = planner;
    this.#rebuilt = rebuilt;
  }

  /** Hosts warming now. */
  get warming(): number {
    return this.#warming.size;
  }

  /**
   * `host` begins (or restarts) warming at `now`: its effective weight
   * drops to the ramp's first value and its level is marked for a rebuild
   * (the planner's deferred rebuild, or the regrouping that follows a join).
   */
  begin(host: Host, now: number): void {
    if (this.#closed || host.endpoint.weight === 0) return;
    this.#table.warmupStart[host.slot] = now;
    if (this.#warmed(host, now)) this.#planner.touch(host.slot);
  }

  /**
   * `host`'s weight changed from `before`: a drained endpoint (weight 0)
   * given a weight warms like a newcomer; a warming one keeps its ramp at
   * its new weight.
   */
  reweigh(host: Host, before: number, now: number): void {
    if (before === 0 && host.endpoint.weight > 0) this.begin(host, now);
    else if (this.#warming.has(host)) this.#warmed(host, now);
  }

  /** `host` left the set. */
  end(host: Host): void {
    this.#warming.delete(host);
  }

  /** Cancels the step timer; nothing warms after this. */
  close(): void {
    this.#closed = true;
    this.#warming.clear();
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /**
   * Writes `host`'s effective weight at `now`; returns true when it
   * changed. A host past its window leaves the ramp at full weight; one
   * within it is kept warming, with the step timer running.
   */
  #warmed(host: Host, now: number): boolean {
    const table = this.#table;
    const slot = host.slot;
    const weight = host.endpoint.weight;
    const factor = weight === 0 ? 1 : slowStartFactor(now - (table.warmupStart[slot] as number), this.options);
    if (factor === 1) this.#warming.delete(host);
    else {
      this.#warming.add(host);
      if (this.#timer === undefined) this.#timer = this.#clock.setTimer(this.#step, this.stepMs);
    }
    const effective = weight * factor;
    if (table.effectiveWeight[slot] === effective) return false;
    table.effectiveWeight[slot] = effective;
    return true;
  }

  readonly #step = (): void => {
    this.#timer = undefined;
    if (this.#closed) return;
    const now = this.#clock.now();
    let changed = false;
    for (const host of [...this.#warming]) {
      if (this.#warmed(host, now)) {
        this.#planner.touch(host.slot);
        changed = true;
      }
    }
    if (changed && this.#planner.flush()) this.#rebuilt();
  };
}
