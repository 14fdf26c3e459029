import type { Host } from "../balancer.js";
import type { Timer } from "../clock.js";
import type { Endpoint } from "../endpoint.js";
import { CircuitOpenError, InvalidConfigError, show } from "../errors.js";
import { checkOptions } from "../options.js";
import type { Outcome } from "../outcome.js";
import { isFailure } from "../outcome.js";
import type { PluginContext, UpstreamPlugin } from "../upstream/plugin.js";
import { attachOnce } from "../upstream/plugin.js";
import { asConfigError, type BreakerStateChange } from "./breaker.js";
import type { BreakerSnapshot, BreakerState, CircuitConfig, CircuitOptions } from "./circuit.js";
import { Circuit, CLOSED, circuitConfig, HALF_OPEN, OPEN, readSnapshot } from "./circuit.js";
import { consecutiveFailures } from "./consecutive.js";
import type { BreakerStrategy } from "./strategy.js";
import { isStrategy } from "./strategy.js";

/** Options of `circuitBreakers()`. */
export interface CircuitBreakersOptions extends CircuitOptions {
  /** The plug-in's name: its ejection reason and snapshot section. Default `"circuit-breaker"`. */
  name?: string;
  /** Makes each endpoint's strategy, once per endpoint as it joins. Default `() => consecutiveFailures(5)`. */
  strategy?: () => BreakerStrategy;
  /** Which outcomes are failures. Default `isFailure` (no answer, or 5xx). `cancelled` and `abandoned` never count. */
  isFailure?: (outcome: Outcome) => boolean;
  /**
   * Breaker states by endpoint id (a `snapshot()` of an earlier plug-in): an
   * endpoint with an entry starts from it when it first joins (an open one
   * is ejected for its `openForMs` from then). Checked when the plug-in is made.
   */
  restore?: Readonly<Record<string, BreakerSnapshot>>;
  /** Called on every state change of an endpoint's breaker. */
  onStateChange?: (endpoint: Endpoint, change: BreakerStateChange) => void;
}

/** The plug-in `circuitBreakers()` makes: an `UpstreamPlugin`, plus the breakers' states to save. */
export interface CircuitBreakersPlugin extends UpstreamPlugin {
  /** The state of the breaker of every endpoint in the set, by endpoint id (for `restore`). */
  snapshot(): Record<string, BreakerSnapshot>;
  /** The state of one endpoint's breaker, or undefined for an id not in the set. */
  state(id: string): BreakerState | undefined;
  /** `snapshot().plugins[name]`: endpoints per state, and trips since the plug-in started. */
  describe(): { closed: number; open: number; halfOpen: number; trips: number };
  /** `snapshot().endpoints[i].plugins[name]`: the endpoint's breaker, as `snapshot()` gives it. */
  describeEndpoint(host: Host): BreakerSnapshot | undefined;
}

/**
 * One circuit breaker per endpoint, as a health plug-in (Finagle's failure
 * accrual, per endpoint; hystrix-style breakers per host). Each endpoint's
 * breaker follows `CircuitBreaker`'s rules, with the upstream's clock and
 * randomness:
 *
 * - **Closed**: every outcome of an ended or reported attempt is counted by
 *   the endpoint's strategy (`isFailure` reads it; `cancelled` and
 *   `abandoned` count as neither).
 * - **Open**: the plug-in ejects the endpoint (its reason in `snapshot()`),
 *   so the balancer skips it, and refuses it in `begin()` (it can still be
 *   picked in panic). Outcomes of attempts begun before are ignored.
 * - **Half-open**: when the open period ends, the ejection is cleared and the
 *   endpoint takes picks again, but `begin()` admits it only while fewer than
 *   `halfOpenProbes` attempts are in flight on it (attempts begun before it
 *   opened count too), and the upstream tries another endpoint otherwise.
 *   Every outcome that ends while half-open is a probe's: a failure opens it
 *   again for the next open period, `successesToClose` successes close it.
 *
 * No timer per endpoint: the plug-in holds one timer at most, set for the
 * earliest end of an open period among all endpoints (none while no breaker
 * is open). An endpoint that leaves drops its breaker; one that comes back
 * starts closed. The probe limit is enforced at `begin()`: `pick()` does not
 * ask plug-ins. When plug-ins that refuse admission are combined, list this
 * one last.
 *
 * @example
 * const upstream = createUpstream({
 *   name: "api",
 *   resolver: staticResolver(["http://10.0.0.1:8080", "http://10.0.0.2:8080"]),
 *   plugins: [circuitBreakers({ strategy: () => consecutiveFailures(5), openMs: 10_000 })],
 * });
 * @throws InvalidConfigError naming the option that is invalid.
 */
export function circuitBreakers(options?: CircuitBreakersOptions): CircuitBreakersPlugin {
  const o = checkOptions<Record<string, unknown>>(options, "circuitBreakers()");
  const name = o.name ?? "circuit-breaker";
  if (typeof name !== "string" || name === "") {
    throw new InvalidConfigError("name", `must be a non-empty string, got ${show(name)}`);
  }
  const makeStrategy = o.strategy ?? (() => consecutiveFailures());
  if (typeof makeStrategy !== "function") {
    throw new InvalidConfigError(
      "strategy",
      "must be a function that makes a BreakerStrategy, e.g. () => consecutiveFailures(5)",
    );
  }
  if (!isStrategy(makeStrategy())) {
    throw new InvalidConfigError("strategy", "must return a BreakerStrategy ({ name, success, failure, reset })");
  }
  const failed = o.isFailure ?? isFailure;
  if (typeof failed !== "function") {
    throw new InvalidConfigError("isFailure", "must be a function (outcome) => boolean");
  }
  const onStateChange = o.onStateChange;
  if (onStateChange !== undefined && typeof onStateChange !== "function") {
    throw new InvalidConfigError("onStateChange", "must be a function (endpoint, change) => void");
  }
  const restore = new Map<string, BreakerSnapshot>();
  if (o.restore !== undefined) {
    if (typeof o.restore !== "object" || o.restore === null || Array.isArray(o.restore)) {
      throw new InvalidConfigError("restore", `must be an object of snapshots by endpoint id, got ${show(o.restore)}`);
    }
  }
  // Checked with a throwaway clock and random (the upstream's come with attach()), and
  // every restored state read into a throwaway breaker now, not when its endpoint joins.
  const config = circuitConfig(o, { now: () => 0, setTimer: () => ({ cancel() {} }) }, { next: () => 0 });
  for (const [id, snapshot] of Object.entries(o.restore ?? {})) {
    const checked = readSnapshot(snapshot, `restore.${id}`, true);
    asConfigError(() => new Circuit(makeStrategy(), config).restore(checked, 0, `restore.${id}`));
    restore.set(id, checked);
  }
  return new CircuitBreakers(
    name,
    config,
    makeStrategy as () => BreakerStrategy,
    failed as (outcome: Outcome) => boolean,
    restore,
    onStateChange as CircuitBreakersOptions["onStateChange"],
  );
}

const STATES: readonly BreakerState[] = ["closed", "open", "half-open"];

class CircuitBreakers implements CircuitBreakersPlugin {
  readonly name: string;
  /** The validated options; attach() puts the upstream's clock and random in. */
  readonly #options: CircuitConfig;
  readonly #strategy: () => BreakerStrategy;
  readonly #isFailure: (outcome: Outcome) => boolean;
  readonly #restore: Map<string, BreakerSnapshot>;
  readonly #onStateChange: CircuitBreakersOptions["onStateChange"];
  #ctx: PluginContext | undefined;
  #config: CircuitConfig | undefined;
  /** Each slot's breaker, while its endpoint is in the set. */
  readonly #circuits: (Circuit | undefined)[] = [];
  /** Each slot's host, to eject and describe from the timer. */
  readonly #hosts: (Host | undefined)[] = [];
  #timer: Timer | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #trips = 0;
  #closed = false;

  constructor(
    name: string,
    options: CircuitConfig,
    strategy: () => BreakerStrategy,
    failed: (outcome: Outcome) => boolean,
    restore: Map<string, BreakerSnapshot>,
    onStateChange: CircuitBreakersOptions["onStateChange"],
  ) {
    this.name = name;
    this.#options = options;
    this.#strategy = strategy;
    this.#isFailure = failed;
    this.#restore = restore;
    this.#onStateChange = onStateChange;
  }

  attach(context: PluginContext): void {
    attachOnce(this, this.#ctx);
    this.#ctx = context;
    this.#config = { ...this.#options, clock: context.clock, random: context.random };
  }

  onJoin(host: Host): void {
    const circuit = new Circuit(this.#strategy(), this.#config as CircuitConfig);
    this.#circuits[host.slot] = circuit;
    this.#hosts[host.slot] = host;
    const saved = this.#restore.get(host.endpoint.id);
    if (saved === undefined) return;
    // Once: an endpoint that leaves and comes back later starts fresh.
    this.#restore.delete(host.endpoint.id);
    const now = this.#clock().now();
    try {
      circuit.restore(saved, now, "restore");
    } catch {
      return; // checked when the plug-in was made: only a strategy that reads its data differently gets here
    }
    if (circuit.state !== CLOSED) this.#changed(host, circuit, CLOSED, now, false);
  }

  onLeave(host: Host): void {
    this.#circuits[host.slot] = undefined;
    this.#hosts[host.slot] = undefined;
  }

  admit(host: Host): boolean {
    const circuit = this.#circuits[host.slot];
    if (circuit === undefined || circuit.state === CLOSED) return true;
    if (circuit.state === OPEN) {
      // Picked in panic, or the timer is late: the open period may be over.
      const now = this.#clock().now();
      if (!circuit.due(now)) return false;
      this.#changed(host, circuit, OPEN, now);
    }
    return ((this.#ctx as PluginContext).table.inFlight[host.slot] as number) < circuit.config.probes;
  }

  /** `begin()` gave up after this plug-in refused `host`: says when its breaker lets a probe through. */
  refusal(host: Host): CircuitOpenError {
    const circuit = this.#circuits[host.slot];
    if (circuit === undefined || circuit.state !== OPEN) return new CircuitOpenError("half-open", 0);
    return new CircuitOpenError("open", circuit.retryAfter(this.#clock().now()));
  }

  onOutcome(host: Host, outcome: Outcome): void {
    const circuit = this.#circuits[host.slot];
    const failure = outcome.failure;
    if (circuit === undefined || circuit.state === OPEN || failure === "cancelled" || failure === "abandoned") return;
    let now = Number.NaN;
    let latency = outcome.latencyMs ?? Number.NaN;
    if (circuit.strategy.timed === true) {
      now = this.#clock().now();
      // end() measured the attempt into the table when the outcome had no latency.
      if (Number.isNaN(latency)) latency = (this.#ctx as PluginContext).table.lastLatencyMs[host.slot] as number;
    }
    const from = circuit.state;
    if (circuit.record(this.#isFailure(outcome), latency, now)) this.#changed(host, circuit, from, now);
  }

  describe(): { closed: number; open: number; halfOpen: number; trips: number } {
    const count = [0, 0, 0];
    for (const c of this.#circuits) if (c !== undefined) count[c.state] = (count[c.state] as number) + 1;
    return {
      closed: count[CLOSED] as number,
      open: count[OPEN] as number,
      halfOpen: count[HALF_OPEN] as number,
      trips: this.#trips,
    };
  }

  describeEndpoint(host: Host): BreakerSnapshot | undefined {
    return this.#circuits[host.slot]?.snapshot(this.#clock().now());
  }

  snapshot(): Record<string, BreakerSnapshot> {
    const out: Record<string, BreakerSnapshot> = {};
    const now = this.#clock().now();
    for (const h of this.#ctx?.hosts() ?? []) {
      const c = this.#circuits[h.slot];
      if (c !== undefined) out[h.endpoint.id] = c.snapshot(now);
    }
    return out;
  }

  state(id: string): BreakerState | undefined {
    const host = this.#ctx?.hosts().find((h) => h.endpoint.id === id);
    const c = host === undefined ? undefined : this.#circuits[host.slot];
    return c === undefined ? undefined : c.stateName;
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  #clock() {
    return (this.#ctx as PluginContext).clock;
  }

  /**
   * A breaker changed state: eject while open, clear otherwise, keep the
   * timer, tell the listener. `trip` is false for a state restored on join.
   */
  #changed(host: Host, circuit: Circuit, from: number, now: number, trip = true): void {
    const ctx = this.#ctx as PluginContext;
    const at = Number.isNaN(now) ? ctx.clock.now() : now;
    if (circuit.state === OPEN) {
      if (trip) this.#trips++;
      ctx.eject(host, true);
      this.#wakeAt(circuit.openUntil, at);
    } else {
      ctx.eject(host, false);
    }
    const listener = this.#onStateChange;
    if (listener === undefined) return;
    const change: BreakerStateChange = {
      from: STATES[from] as BreakerState,
      to: circuit.stateName,
      at,
      trips: circuit.trips,
      openUntil: circuit.state === OPEN ? circuit.openUntil : undefined,
    };
    try {
      listener(host.endpoint, change);
    } catch (error) {
      // As a throwing event listener: reported after the upstream's own work is done, never into it.
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  /** Keeps the one timer set for the earliest end of an open period. */
  #wakeAt(time: number, now: number): void {
    if (this.#closed || time >= this.#timerAt) return;
    this.#timer?.cancel();
    this.#timerAt = time;
    this.#timer = this.#clock().setTimer(this.#wake, Math.max(0, time - now));
  }

  /** Turns every breaker whose open period is over half-open (clearing its ejection), then waits for the next. */
  readonly #wake = (): void => {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    if (this.#closed) return;
    const now = this.#clock().now();
    let next = Number.POSITIVE_INFINITY;
    for (let slot = 0; slot < this.#circuits.length; slot++) {
      const circuit = this.#circuits[slot];
      if (circuit === undefined || circuit.state !== OPEN) continue;
      if (circuit.due(now)) this.#changed(this.#hosts[slot] as Host, circuit, OPEN, now);
      else next = Math.min(next, circuit.openUntil);
    }
    if (next < Number.POSITIVE_INFINITY) this.#wakeAt(next, now);
  };
}
