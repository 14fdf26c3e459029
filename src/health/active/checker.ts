import type { Host } from "../../balancer.js";
import type { Timer } from "../../clock.js";
import type { PluginContext, UpstreamPlugin } from "../../upstream/plugin.js";
import { attachOnce } from "../../upstream/plugin.js";
import { hasStatus } from "../http-statuses.js";
import { HealthCounters, HTTP_FAILURE, SUCCESS, TCP_FAILURE, TIMEOUT } from "./counters.js";
import { DueQueue } from "./due-queue.js";
import type { ActiveConfig, ActiveHealthChecksOptions } from "./options.js";
import { activeConfig, TCP } from "./options.js";
import type { Probe, ProbeOutcome, Prober } from "./probe.js";
import { socketProber } from "./probe.js";
import type {
  ActiveEndpointHealth,
  ActiveHealthChange,
  ActiveHealthState,
  ActiveHealthSummary,
  ActiveProbeResult,
} from "./results.js";

/** The plug-in `activeHealthChecks()` makes: an `UpstreamPlugin` with typed views of its state. */
export interface ActiveHealthChecksPlugin extends UpstreamPlugin {
  /** `snapshot().plugins[name]`: endpoints per state, probes in flight and waiting, probes ended. */
  describe(): ActiveHealthSummary;
  /** `snapshot().endpoints[i].plugins[name]`: state, since, Kong's counters, the last probe. */
  describeEndpoint(host: Host): ActiveEndpointHealth | undefined;
  /** The active health of the endpoint with this id, or undefined for an id not in the set. */
  state(id: string): ActiveHealthState | undefined;
  /** Stops probing: aborts probes in flight and resolves once every probe socket is closed (those of probes that just ended too). */
  close(): Promise<void>;
}

/**
 * Active health checks, Kong's `healthchecks.active` in-process: each
 * endpoint is probed (an HTTP/1.1 GET, the same over TLS, or a TCP connect)
 * every `healthy.intervalMs` while healthy and every `unhealthy.intervalMs`
 * while unhealthy, and Kong's counters decide its health: a success clears
 * the failure counters, any failure clears the success counter, a counter
 * reaching its threshold flips the state (0 turns a counter off). An
 * endpoint starts healthy; an unhealthy one is ejected (its reason in
 * `snapshot()`), a healthy one is let back.
 *
 * One timer on the upstream's clock for the whole plug-in (not one per
 * endpoint), unref'd; at most `concurrency` probes in flight, the rest wait
 * in line; a drained endpoint (weight 0) is not probed; an endpoint that
 * leaves drops its state and its probe in flight is aborted.
 *
 * @example
 * const upstream = createUpstream({
 *   name: "api",
 *   resolver: staticResolver(["http://10.0.0.1:8080", "http://10.0.0.2:8080"]),
 *   plugins: [
 *     activeHealthChecks({
 *       httpPath: "/health",
 *       healthy: { intervalMs: 5000, successes: 2 },
 *       unhealthy: { intervalMs: 1000, httpFailures: 3, tcpFailures: 2, timeouts: 3 },
 *     }),
 *   ],
 * });
 * @throws InvalidConfigError naming the option that is invalid.
 */
export function activeHealthChecks(options?: ActiveHealthChecksOptions): ActiveHealthChecksPlugin {
  return new ActiveHealthChecks(activeConfig(options), socketProber);
}

const STATES: readonly ActiveHealthState[] = ["healthy", "unhealthy"];

/** The checker; `prober` is injectable for tests of the scheduling and counting alone. @internal */
export class ActiveHealthChecks implements ActiveHealthChecksPlugin {
  readonly name: string;
  readonly #config: ActiveConfig;
  readonly #prober: Prober;
  readonly #counters: HealthCounters;
  readonly #due = new DueQueue();
  #ctx: PluginContext | undefined;
  /** Each slot's host while it is in the set. */
  readonly #hosts: (Host | undefined)[] = [];
  /** Each slot's probe in flight. */
  readonly #flights: (Flight | undefined)[] = [];
  readonly #lastProbe: (ActiveProbeResult | undefined)[] = [];
  #since = new Float64Array(0);
  /** 1 while the slot's host has an entry in the waiting line. */
  #isWaiting = new Uint8Array(0);
  /** Hosts due and waiting for a place, oldest first (entries of hosts that left are skipped). */
  #waiting: Host[] = [];
  #waitingHead = 0;
  #queued = 0;
  #inFlight = 0;
  #probes = 0;
  #timer: Timer | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #closed = false;
  /** Sockets of ended or aborted probes, until they are closed. */
  readonly #closing = new Set<Promise<void>>();

  constructor(config: ActiveConfig, prober: Prober) {
    this.name = config.name;
    this.#config = config;
    this.#prober = prober;
    this.#counters = new HealthCounters(config.thresholds);
  }

  attach(context: PluginContext): void {
    attachOnce(this, this.#ctx);
    this.#ctx = context;
  }

  onJoin(host: Host): void {
    if (this.#closed) return;
    const slot = host.slot;
    this.#ensure(slot);
    this.#hosts[slot] = host;
    this.#counters.reset(slot);
    this.#lastProbe[slot] = undefined;
    const now = this.#now();
    this.#since[slot] = now;
    const interval = this.#config.healthyIntervalMs;
    // The first probe soon, spread over a fraction of the interval (Envoy's initial jitter).
    if (interval > 0) this.#schedule(slot, now + interval * this.#config.jitter * this.#random());
  }

  onLeave(host: Host): void {
    const slot = host.slot;
    if (this.#hosts[slot] !== host) return;
    this.#hosts[slot] = undefined;
    this.#lastProbe[slot] = undefined;
    this.#due.remove(slot);
    if (this.#isWaiting[slot] === 1) {
      this.#isWaiting[slot] = 0;
      this.#queued--;
    }
    const flight = this.#flights[slot];
    if (flight !== undefined) {
      this.#flights[slot] = undefined;
      this.#inFlight--;
      this.#abort(flight);
      this.#pump();
    }
  }

  describe(): ActiveHealthSummary {
    let healthy = 0;
    let unhealthy = 0;
    for (const h of this.#ctx?.hosts() ?? []) {
      if (this.#hosts[h.slot] !== h) continue;
      if (this.#counters.healthy(h.slot)) healthy++;
      else unhealthy++;
    }
    return { healthy, unhealthy, inFlight: this.#inFlight, queued: this.#queued, probes: this.#probes };
  }

  describeEndpoint(host: Host): ActiveEndpointHealth | undefined {
    const slot = host.slot;
    if (this.#hosts[slot] !== host) return undefined;
    const c = this.#counters;
    const view: ActiveEndpointHealth = {
      state: c.healthy(slot) ? "healthy" : "unhealthy",
      since: this.#since[slot] as number,
      successes: c.count(slot, SUCCESS),
      httpFailures: c.count(slot, HTTP_FAILURE),
      tcpFailures: c.count(slot, TCP_FAILURE),
      timeouts: c.count(slot, TIMEOUT),
    };
    const last = this.#lastProbe[slot];
    return last === undefined ? view : { ...view, lastProbe: last };
  }

  state(id: string): ActiveHealthState | undefined {
    const host = this.#ctx?.hosts().find((h) => h.endpoint.id === id);
    if (host === undefined || this.#hosts[host.slot] !== host) return undefined;
    return this.#counters.healthy(host.slot) ? "healthy" : "unhealthy";
  }

  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#timer?.cancel();
      this.#timer = undefined;
      this.#timerAt = Number.POSITIVE_INFINITY;
      this.#due.clear();
      this.#waiting = [];
      this.#waitingHead = 0;
      this.#isWaiting.fill(0);
      this.#queued = 0;
      for (let slot = 0; slot < this.#flights.length; slot++) {
        const flight = this.#flights[slot];
        if (flight === undefined) continue;
        this.#flights[slot] = undefined;
        this.#abort(flight);
      }
      this.#inFlight = 0;
    }
    await Promise.all(this.#closing);
  }

  #now(): number {
    return (this.#ctx as PluginContext).clock.now();
  }

  #random(): number {
    return (this.#ctx as PluginContext).random.next();
  }

  #ensure(slot: number): void {
    const capacity = Math.max(slot + 1, (this.#ctx as PluginContext).table.capacity);
    if (capacity <= this.#since.length) return;
    const since = new Float64Array(capacity);
    since.set(this.#since);
    this.#since = since;
    const waiting = new Uint8Array(capacity);
    waiting.set(this.#isWaiting);
    this.#isWaiting = waiting;
    this.#counters.ensure(capacity);
    this.#due.ensure(capacity);
  }

  #abort(flight: Flight): void {
    flight.probe?.abort();
    this.#untilClosed(flight);
  }

  /** Keeps the probe's socket in `#closing` until it is closed, for `close()` to wait for. */
  #untilClosed(flight: Flight): void {
    const closed = flight.probe?.closed();
    if (closed === undefined) return;
    const tracked = closed.then(() => {
      this.#closing.delete(tracked);
    });
    this.#closing.add(tracked);
  }

  /** Schedules the slot's next probe; keeps the one timer set for the earliest. */
  #schedule(slot: number, at: number): void {
    this.#due.schedule(slot, at);
    if (at < this.#timerAt) this.#arm(at);
  }

  #arm(at: number): void {
    this.#timer?.cancel();
    this.#timerAt = at;
    this.#timer = (this.#ctx as PluginContext).clock.setTimer(this.#wake, Math.max(0, at - this.#now()));
  }

  /** Starts (or lines up) every probe that is due, then waits for the next. */
  readonly #wake = (): void => {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    if (this.#closed) return;
    const now = this.#now();
    const due = this.#due;
    for (let slot = due.peek(); slot >= 0 && due.dueAt(slot) <= now; slot = due.peek()) {
      due.remove(slot);
      const host = this.#hosts[slot] as Host;
      if (this.#inFlight < this.#config.concurrency) {
        this.#start(host, now);
      } else {
        this.#waiting.push(host);
        this.#isWaiting[slot] = 1;
        this.#queued++;
      }
    }
    const next = due.peek();
    if (next >= 0) this.#arm(due.dueAt(next));
  };

  /** Starts probes from the waiting line while there is room. */
  #pump(): void {
    while (this.#inFlight < this.#config.concurrency && this.#waitingHead < this.#waiting.length) {
      const host = this.#waiting[this.#waitingHead++] as Host;
      if (this.#hosts[host.slot] !== host || this.#isWaiting[host.slot] === 0) continue; // it left while waiting
      this.#isWaiting[host.slot] = 0;
      this.#queued--;
      this.#start(host, this.#now());
    }
    if (this.#waitingHead === this.#waiting.length) {
      this.#waiting = [];
      this.#waitingHead = 0;
    }
  }

  /** Probes `host`, unless it is drained: then it is looked at again an interval later. */
  #start(host: Host, now: number): void {
    if (host.endpoint.weight === 0) {
      this.#reschedule(host.slot, now);
      return;
    }
    const flight: Flight = { host, probe: undefined };
    this.#flights[host.slot] = flight;
    this.#inFlight++;
    try {
      flight.probe = this.#prober(host.endpoint, this.#config, (this.#ctx as PluginContext).clock, (outcome) =>
        this.#ended(flight, outcome),
      );
    } catch (error) {
      queueMicrotask(() => this.#ended(flight, { failure: "tcp", error: String(error) }));
    }
  }

  /** A probe ended: count its result, eject or let back, schedule the next, start a waiting one. */
  #ended(flight: Flight, outcome: ProbeOutcome): void {
    const host = flight.host;
    const slot = host.slot;
    if (this.#closed || this.#flights[slot] !== flight) return;
    this.#flights[slot] = undefined;
    this.#inFlight--;
    this.#probes++;
    this.#untilClosed(flight); // its socket is destroyed and closes on the next turn
    const now = this.#now();
    const result: ActiveProbeResult = { ...outcome, atMs: now };
    this.#lastProbe[slot] = result;
    const kind = this.#kindOf(outcome);
    const counters = this.#counters;
    if (kind >= 0 && counters.record(slot, kind)) {
      const healthy = counters.healthy(slot);
      this.#since[slot] = now;
      (this.#ctx as PluginContext).eject(host, !healthy);
      const change: ActiveHealthChange = {
        from: STATES[healthy ? 1 : 0] as ActiveHealthState,
        to: STATES[healthy ? 0 : 1] as ActiveHealthState,
        at: now,
        probe: result,
      };
      this.#tell(this.#config.onHealthChange, host, change);
    }
    this.#tell(this.#config.onProbe, host, result);
    // A listener may have closed the plug-in, or the endpoint may have left meanwhile.
    if (this.#closed || this.#hosts[slot] !== host) return;
    this.#reschedule(slot, now);
    this.#pump();
  }

  /** Schedules the slot's next probe, an interval (with jitter) from `now`, by its state; none when that interval is 0. */
  #reschedule(slot: number, now: number): void {
    const c = this.#config;
    const interval = this.#counters.healthy(slot) ? c.healthyIntervalMs : c.unhealthyIntervalMs;
    if (interval > 0) this.#schedule(slot, now + interval * (1 + c.jitter * this.#random()));
  }

  /** The counter a result goes to, or -1 for a status in neither list (Kong ignores it). */
  #kindOf(outcome: ProbeOutcome): number {
    const failure = outcome.failure;
    if (failure === "tcp") return TCP_FAILURE;
    if (failure === "timeout") return TIMEOUT;
    if (failure === "http") return HTTP_FAILURE;
    const status = outcome.status;
    if (status === undefined || this.#config.type === TCP) return SUCCESS;
    // Kong reads the healthy list first: a status in both lists is a success.
    if (hasStatus(this.#config.healthyStatuses, status)) return SUCCESS;
    if (hasStatus(this.#config.unhealthyStatuses, status)) return HTTP_FAILURE;
    return -1;
  }

  /** Calls a listener; what it throws surfaces from a microtask, never into the plug-in's work. */
  #tell<T>(listener: ((endpoint: Host["endpoint"], data: T) => void) | undefined, host: Host, data: T): void {
    if (listener === undefined) return;
    try {
      listener(host.endpoint, data);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

/** One probe in flight and the host it is for. */
interface Flight {
  readonly host: Host;
  probe: Probe | undefined;
}
