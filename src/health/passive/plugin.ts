import type { Host } from "../../balancer.js";
import type { Timer } from "../../clock.js";
import type { Outcome } from "../../outcome.js";
import type { PluginContext, UpstreamPlugin } from "../../upstream/plugin.js";
import { attachOnce } from "../../upstream/plugin.js";
import { grown } from "../../upstream/table.js";
import { HEALTHY, PassiveCounters, PROBATION, UNHEALTHY } from "./counters.js";
import type { PassiveConfig, PassiveHealthChecksOptions } from "./options.js";
import { passiveConfig } from "./options.js";

/** An endpoint's state under passive health checks. */
export type PassiveHealthState = "healthy" | "unhealthy" | "probation";

/** One endpoint under passive health checks: `snapshot().endpoints[i].plugins[name]`. Plain data. */
export interface PassiveEndpointState {
  /** `healthy`, `unhealthy` (ejected) or `probation` (back in traffic after an ejection, on trial). */
  readonly state: PassiveHealthState;
  /** Clock time the endpoint entered that state (joined, for an endpoint never ejected). */
  readonly since: number;
  /** While unhealthy: the clock time it goes on probation. */
  readonly until?: number;
  /** Successes counted since the last failure (0..255; not counted when `healthy.successes` is 0, except on probation). */
  readonly successes: number;
  /** HTTP failures since the last success (0..255). */
  readonly httpFailures: number;
  /** TCP failures (connect, reset) since the last success (0..255). */
  readonly tcpFailures: number;
  /** Timeouts since the last success (0..255). */
  readonly timeouts: number;
  /** Times this plug-in ejected the endpoint since it joined. */
  readonly ejections: number;
}

/** The plug-in `passiveHealthChecks()` makes. */
export interface PassiveHealthChecksPlugin extends UpstreamPlugin {
  /** `snapshot().plugins[name]`: endpoints per state, and ejections since the plug-in started. */
  describe(): { healthy: number; unhealthy: number; probation: number; ejections: number };
  /** `snapshot().endpoints[i].plugins[name]`: the endpoint's state and counters. */
  describeEndpoint(host: Host): PassiveEndpointState | undefined;
}

const STATES: readonly PassiveHealthState[] = ["healthy", "unhealthy", "probation"];

/**
 * Passive health checks (Kong's `healthchecks.passive`): every ended attempt's
 * outcome is counted with Kong's counters and thresholds, and an endpoint
 * that reaches a threshold is ejected. Unlike Kong, it is not stuck there:
 * after `ejectionMs` it is let back **on probation**, where its first failure
 * ejects it again (for longer: `ejectionMs` × ejections in a row, at most
 * `maxEjectionMs`) and `healthy.successes` successes (one, if 0) make it
 * healthy.
 *
 * - `connect` and `reset` outcomes are TCP failures, `timeout` timeouts; a
 *   status in `healthy.httpStatuses` is a success, one in
 *   `unhealthy.httpStatuses` an HTTP failure, any other status nothing;
 *   `cancelled` and `abandoned` are nothing.
 * - A success clears the failure counters; a failure clears the success
 *   counter; a counter whose threshold is 0 is off; counters stop at 255.
 * - Outcomes that end while the endpoint is ejected count for nothing.
 *
 * Kong's defaults have every threshold at 0: passive checks on, ejecting
 * nothing. Set the thresholds you want. No timer per endpoint: the plug-in
 * holds one timer at most, for the earliest end of an ejection. An endpoint
 * that leaves drops its state; one that comes back starts healthy.
 *
 * @example
 * const upstream = createUpstream({
 *   name: "api",
 *   resolver: staticResolver(["http://10.0.0.1:8080", "http://10.0.0.2:8080"]),
 *   plugins: [passiveHealthChecks({ unhealthy: { tcpFailures: 3, timeouts: 3, httpFailures: 5 } })],
 * });
 * @throws InvalidConfigError naming the option that is invalid.
 */
export function passiveHealthChecks(options?: PassiveHealthChecksOptions): PassiveHealthChecksPlugin {
  return new PassiveHealthChecks(passiveConfig(options));
}

class PassiveHealthChecks implements PassiveHealthChecksPlugin {
  readonly name: string;
  readonly #config: PassiveConfig;
  #ctx: PluginContext | undefined;
  readonly #counters = new PassiveCounters();
  /** Clock time each slot entered its state. */
  #since = new Float64Array(0);
  /** While ejected: clock time each slot goes on probation. */
  #until = new Float64Array(0);
  /** Ejections since each slot's endpoint joined. */
  #ejections = new Uint32Array(0);
  /** Ejections in a row (from probation, without turning healthy between): the ejection time's multiplier. */
  #streak = new Uint32Array(0);
  /** Each slot's host, to restore it from the timer. */
  readonly #hosts: (Host | undefined)[] = [];
  #total = 0;
  #timer: Timer | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #closed = false;

  constructor(config: PassiveConfig) {
    this.name = config.name;
    this.#config = config;
  }

  attach(context: PluginContext): void {
    attachOnce(this, this.#ctx);
    this.#ctx = context;
  }

  onJoin(host: Host): void {
    const ctx = this.#ctx as PluginContext;
    const slot = host.slot;
    if (slot >= this.#since.length) this.#grow(ctx.table.capacity);
    this.#counters.reset(slot, HEALTHY);
    this.#since[slot] = ctx.clock.now();
    this.#until[slot] = Number.NaN;
    this.#ejections[slot] = 0;
    this.#streak[slot] = 0;
    this.#hosts[slot] = host;
  }

  onLeave(host: Host): void {
    this.#hosts[host.slot] = undefined;
    // A late timer finds nothing to restore on a freed slot.
    this.#counters.reset(host.slot, HEALTHY);
  }

  onOutcome(host: Host, outcome: Outcome): void {
    const slot = host.slot;
    // The hot path is this one call: no constant imported from another module is read before it returns.
    if (!this.#counters.record(slot, outcome, this.#config)) return;
    const ctx = this.#ctx as PluginContext;
    const now = ctx.clock.now();
    this.#since[slot] = now;
    if (this.#counters.state[slot] === UNHEALTHY) {
      const streak = (this.#streak[slot] as number) + 1;
      this.#streak[slot] = streak;
      this.#ejections[slot] = (this.#ejections[slot] as number) + 1;
      this.#total++;
      const c = this.#config;
      const until = now + Math.min(c.maxEjectionMs, c.ejectionMs * streak);
      this.#until[slot] = until;
      ctx.eject(host, true);
      this.#wakeAt(until, now);
    } else {
      this.#streak[slot] = 0;
    }
  }

  describe(): { healthy: number; unhealthy: number; probation: number; ejections: number } {
    const count = [0, 0, 0];
    for (const h of this.#ctx?.hosts() ?? []) {
      const s = this.#counters.state[h.slot] as number;
      count[s] = (count[s] as number) + 1;
    }
    return {
      healthy: count[HEALTHY] as number,
      unhealthy: count[UNHEALTHY] as number,
      probation: count[PROBATION] as number,
      ejections: this.#total,
    };
  }

  describeEndpoint(host: Host): PassiveEndpointState | undefined {
    const slot = host.slot;
    if (this.#hosts[slot] !== host) return undefined;
    const c = this.#counters;
    const state = c.state[slot] as number;
    return {
      state: STATES[state] as PassiveHealthState,
      since: this.#since[slot] as number,
      ...(state === UNHEALTHY ? { until: this.#until[slot] as number } : {}),
      successes: c.successes[slot] as number,
      httpFailures: c.httpFailures[slot] as number,
      tcpFailures: c.tcpFailures[slot] as number,
      timeouts: c.timeouts[slot] as number,
      ejections: this.#ejections[slot] as number,
    };
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  #grow(capacity: number): void {
    this.#counters.grow(capacity);
    this.#since = grown(this.#since, capacity);
    this.#until = grown(this.#until, capacity);
    this.#ejections = grown(this.#ejections, capacity);
    this.#streak = grown(this.#streak, capacity);
  }

  /** Keeps the one timer set for the earliest end of an ejection. */
  #wakeAt(time: number, now: number): void {
    if (this.#closed || time >= this.#timerAt) return;
    this.#timer?.cancel();
    this.#timerAt = time;
    this.#timer = (this.#ctx as PluginContext).clock.setTimer(this.#wake, Math.max(0, time - now));
  }

  /** Puts every endpoint whose ejection is over on probation (clearing its ejection), then waits for the next. */
  readonly #wake = (): void => {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    if (this.#closed) return;
    const ctx = this.#ctx as PluginContext;
    const now = ctx.clock.now();
    const state = this.#counters.state;
    let next = Number.POSITIVE_INFINITY;
    for (let slot = 0; slot < this.#hosts.length; slot++) {
      const host = this.#hosts[slot];
      if (host === undefined || state[slot] !== UNHEALTHY) continue;
      const until = this.#until[slot] as number;
      if (until > now) {
        next = Math.min(next, until);
        continue;
      }
      this.#counters.reset(slot, PROBATION);
      this.#since[slot] = now;
      this.#until[slot] = Number.NaN;
      ctx.eject(host, false);
    }
    if (next < Number.POSITIVE_INFINITY) this.#wakeAt(next, now);
  };
}
