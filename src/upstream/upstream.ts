import type { Balancer, Host, PickContext, Picker } from "../balancer.js";
import { EMPTY_PICKER } from "../balancer.js";
import type { LoadMetric } from "../balancers/load-metric.js";
import type { Clock, Timer } from "../clock.js";
import type { Endpoint } from "../endpoint.js";
import { sameEndpoint } from "../endpoint.js";
import type { NoEndpointsReason } from "../errors.js";
import { AbortError, ClosedError, InvalidArgumentError, NoEndpointsError, ReadyTimeoutError, show } from "../errors.js";
import { duration } from "../options.js";
import type { Outcome } from "../outcome.js";
import { checkOutcome } from "../outcome.js";
import type { Random } from "../random.js";
import type { EndpointsDelta, Resolver } from "../resolver.js";
import { SafeEmitter } from "../safe-emitter.js";
import { AttemptTable } from "./attempts.js";
import type { UpstreamHealth, UpstreamHealthChange, UpstreamHealthStatus } from "./health.js";
import { endpointHealth, upstreamHealth } from "./health.js";
import { UpstreamHost } from "./host.js";
import type { UpstreamOptions } from "./options.js";
import { upstreamOptions } from "./options.js";
import { PriorityPlanner } from "./planner.js";
import type { PluginContext, UpstreamPlugin } from "./plugin.js";
import { RebuildRequests } from "./rebuild-requests.js";
import { SlowStartRamp } from "./slow-start.js";
import type { EndpointOverride, EndpointSnapshot, EndpointStats, ErrorSummary, UpstreamSnapshot } from "./snapshot.js";
import { hostIndex } from "./sorted-hosts.js";
import { EndpointTable } from "./table.js";

/** What changed in an update of the upstream's endpoint set. */
export interface EndpointsChange {
  /** The whole set now in force (after the filter). */
  readonly endpoints: readonly Endpoint[];
  /** Endpoints that joined. */
  readonly added: readonly Endpoint[];
  /** Endpoints that left (their state is dropped). */
  readonly removed: readonly Endpoint[];
  /** Endpoints whose fields other than the id changed: weight, priority, tags... (their state is kept). */
  readonly updated: readonly Endpoint[];
}

/** Typed events of an `Upstream`. */
export interface UpstreamEvents {
  /** The endpoint set changed. Not emitted for a re-announcement of the same set. */
  endpoints: (change: EndpointsChange) => void;
  /** A new picker was swapped in (after a set change, or a rebuild that eligibility changes called for). */
  picker: (picker: Picker) => void;
  /** The resolver failed; the last good set stays in force. */
  resolverError: (error: Error) => void;
  /**
   * The upstream's health changed (`health().health`: some weight available,
   * and at least `healthThreshold` percent of the total). It starts
   * UNHEALTHY (nothing resolved), so the first good set emits HEALTHY.
   */
  health: (change: UpstreamHealthChange) => void;
  /** An attempt was reclaimed after `attemptTimeoutMs` without `end()`. */
  abandoned: (endpoint: Endpoint, ageMs: number) => void;
  /** `close()` finished. */
  close: () => void;
}

/** Picks tried in `begin()` before it gives up and throws the last refusing plug-in's error. */
const ADMISSION_TRIES = 4;
/** Picks tried to honour `PickContext.avoid`. */
const AVOID_TRIES = 8;
const ABANDONED: Outcome = Object.freeze({ failure: "abandoned" });

/**
 * One service and its endpoints (Kong upstream, Envoy cluster): owns a
 * resolver, a balancer, health plug-ins and the live endpoint table, and
 * swaps in a new picker whenever the set changes. A resolver error never
 * removes endpoints.
 *
 * Two ways to use it: `pick()` then `report()` for simple use, or the
 * attempt lifecycle `begin()` → token → `end(token, outcome)`, which counts
 * requests in flight (for load-aware balancers), admits through plug-ins
 * (breakers, concurrency limits) and times the attempt.
 *
 * @example
 * const api = createUpstream({ name: "api", resolver: staticResolver(["http://10.0.0.1:8080"]) });
 * await api.ready();
 * const attempt = api.begin();
 * const target = api.endpointOf(attempt); // fetch(`${target.scheme}://${target.id}/...`)
 * api.end(attempt, { status: 200 });
 */
export class Upstream extends SafeEmitter<UpstreamEvents> {
  /** The service name. */
  readonly name: string;
  /** The balancer used within each priority level. */
  readonly balancer: Balancer;
  readonly #resolver: Resolver;
  readonly #clock: Clock;
  readonly #accept: ((endpoint: Endpoint) => boolean) | undefined;
  readonly #readyTimeoutMs: number;
  readonly #attemptTimeoutMs: number;
  readonly #rebuildDelayMs: number;
  readonly #healthThreshold: number;
  readonly #table = new EndpointTable();
  readonly #attempts = new AttemptTable();
  readonly #planner: PriorityPlanner;
  readonly #plugins: readonly UpstreamPlugin[];
  readonly #admitters: readonly UpstreamPlugin[];
  readonly #observers: readonly UpstreamPlugin[];
  readonly #watched: boolean;
  readonly #metric: LoadMetric | undefined;
  readonly #slowStart: SlowStartRamp | undefined;
  readonly #rebuildRequests: RebuildRequests;
  readonly #byId = new Map<string, UpstreamHost>();
  #bySlot: (UpstreamHost | undefined)[] = [];
  #hosts: UpstreamHost[] = [];
  #picker: Picker = EMPTY_PICKER;
  // The current picker's pick, called with .call(): one call site in every
  // upstream of the process sees many picker classes, and a property lookup
  // there would go megamorphic; a call through a known function does not.
  #pickFn: Picker["pick"] = EMPTY_PICKER.pick;
  #round = 0;
  #resolved = false;
  #lastError: Error | undefined;
  #closed = false;
  #abandoned = 0;
  // Kong's data.weight, kept current on every flip and set change (for health() and the health event).
  #weightTotal = 0;
  #weightAvailable = 0;
  #health: UpstreamHealthStatus = "UNHEALTHY";
  #reaper: Timer | undefined;
  #flushTimer: Timer | undefined;
  // Attempt time: read once per synchronous run (until microtasks drain) on a clock with `turnTime`.
  readonly #time = this.#table.attemptTime;
  readonly #turnTime: boolean;
  #timeValid = false;
  readonly #invalidateTime = () => {
    this.#timeValid = false;
  };
  readonly #waiters = new Set<{ resolve: () => void; reject: (e: unknown) => void }>();

  constructor(options: UpstreamOptions) {
    super();
    const o = upstreamOptions(options);
    const plugins = o.plugins;
    this.name = o.name;
    this.balancer = o.balancer;
    this.#metric = this.balancer.metric;
    this.#resolver = o.resolver;
    this.#clock = o.clock;
    this.#turnTime = this.#clock.turnTime === true;
    this.#planner = new PriorityPlanner(
      this.balancer,
      this.#table,
      o.random,
      this.#clock,
      o.priority,
      o.zone,
      (p, ms) => this.#rebuildRequests.request(p, ms),
    );
    this.#rebuildRequests = new RebuildRequests(this.#clock, this.#planner, () => this.#swapPicker());
    this.#slowStart =
      o.slowStart && new SlowStartRamp(o.slowStart, this.#table, this.#clock, this.#planner, () => this.#swapPicker());
    this.#accept = o.filter;
    this.#readyTimeoutMs = o.readyTimeoutMs;
    this.#attemptTimeoutMs = o.attemptTimeoutMs;
    this.#rebuildDelayMs = o.rebuildDelayMs;
    this.#healthThreshold = o.healthThreshold;
    this.#plugins = plugins;
    this.#admitters = plugins.filter((p) => p.admit !== undefined);
    this.#observers = plugins.filter((p) => p.onOutcome !== undefined);
    this.#watched = plugins.some((p) => p.onOutcome !== undefined || p.onJoin !== undefined);
    plugins.forEach((plugin, i) => {
      plugin.attach(this.#pluginContext(i, o.random));
    });
    this.#resolver.on("endpoints", this.#onEndpoints, this);
    this.#resolver.on("error", this.#onResolverError, this);
    this.#resolver.on("resolved", this.#onResolved, this);
    this.#resolver.retain();
    const known = this.#resolver.endpoints;
    if (known !== undefined) this.#onEndpoints(known);
    this.#resolver.start();
  }

  /** The endpoints in force (after the filter), sorted by id. */
  get endpoints(): readonly Endpoint[] {
    return this.#hosts.map((h) => h.endpoint);
  }

  /** The current picker. Replaced, never rebuilt in place, when the set changes. */
  get picker(): Picker {
    return this.#picker;
  }

  /** The last error the resolver reported, until its next successful resolution. */
  get lastResolverError(): Error | undefined {
    return this.#lastError;
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Chooses an endpoint for one attempt. Synchronous and allocation-free.
   * With `context.avoid`, another endpoint is chosen when there is one.
   *
   * @throws NoEndpointsError when nothing is eligible (`error.reason` says why).
   * @throws ClosedError after `close()`.
   */
  pick(context?: PickContext): Endpoint {
    const host = this.#pickFn.call(this.#picker, context);
    if (host !== undefined && context?.avoid === undefined) return host.endpoint;
    const chosen = this.#choose(host, context);
    if (chosen === undefined) throw this.#noEndpoints();
    return chosen.endpoint;
  }

  /** Like `pick()`, but returns `undefined` instead of throwing. */
  tryPick(context?: PickContext): Endpoint | undefined {
    return this.#choose(this.#pickFn.call(this.#picker, context), context)?.endpoint;
  }

  /**
   * Begins an attempt: picks an endpoint, asks every plug-in with `admit` to
   * admit it (trying other endpoints a bounded number of times when one is
   * refused), counts it in flight, notes its start time, and returns a
   * token: a small integer for `endpointOf()` and `end()`. Allocation-free.
   *
   * @throws NoEndpointsError when nothing is eligible.
   * @throws the refusing plug-in's `refusal()` error when every endpoint
   * tried was refused (`ConcurrencyLimitError`, `CircuitOpenError`), or
   * `NoEndpointsError` with `reason: "overloaded"` for a plug-in without one.
   * @throws ClosedError after `close()`.
   */
  begin(context?: PickContext): number {
    // Before the pick: a picker may read the attempt time (table.attemptTime) as now.
    this.#refreshTime();
    let host = this.#pickFn.call(this.#picker, context);
    if (host === undefined || context?.avoid !== undefined) {
      host = this.#choose(host, context);
      if (host === undefined) throw this.#noEndpoints();
    }
    if (this.#admitters.length > 0) host = this.#admit(host, context);
    const slot = host.slot;
    const table = this.#table;
    table.addInFlight(slot, 1);
    if (this.#reaper === undefined && this.#attemptTimeoutMs !== Number.POSITIVE_INFINITY) {
      this.#reaper = this.#clock.setTimer(this.#reap, this.#attemptTimeoutMs);
    }
    return this.#attempts.begin(slot, table.generation[slot] as number, this.#time);
  }

  /** The endpoint of an open attempt, or `undefined` for a token that is ended, stale or not this upstream's. */
  endpointOf(token: number): Endpoint | undefined {
    const i = this.#attempts.indexOf(token);
    if (i < 0) return undefined;
    const slot = this.#attempts.slotOf(i);
    if (!this.#attempts.sameSlot(i, this.#table.generation[slot] as number)) return undefined;
    return this.#bySlot[slot]?.endpoint;
  }

  /**
   * Ends an attempt with its outcome, once: the in-flight count drops, the
   * counters, load metric and every plug-in see the outcome. The latency is
   * `outcome.latencyMs`, or the time since `begin()`. Returns false, and
   * changes nothing, for a token already ended, reclaimed, or not this
   * upstream's; an attempt whose endpoint left the set is closed without
   * touching the slot's new occupant.
   *
   * @throws InvalidArgumentError for an outcome that is not one (see
   * `Outcome`); the attempt stays open.
   */
  end(token: number, outcome: Outcome): boolean {
    checkOutcome(outcome);
    const attempts = this.#attempts;
    const i = attempts.indexOf(token);
    if (i < 0) return false;
    const slot = attempts.slotOf(i);
    const table = this.#table;
    attempts.end(i);
    if (!attempts.sameSlot(i, table.generation[slot] as number)) return true;
    table.addInFlight(slot, -1);
    if (outcome.latencyMs === undefined) {
      this.#refreshTime();
      table.lastLatencyMs[slot] = (this.#time[0] as number) - (attempts.start[i] as number);
    } else {
      table.lastLatencyMs[slot] = outcome.latencyMs;
    }
    table.lastEndedAt[slot] = (attempts.start[i] as number) + (table.lastLatencyMs[slot] as number);
    this.#record(this.#bySlot[slot] as UpstreamHost, outcome, true);
    return true;
  }

  /**
   * Reports the outcome of an attempt made after `pick()` (no `begin()`):
   * counters and plug-ins see it as they would from `end()`, and the load
   * metric too when the outcome has a `latencyMs` (without one there is no
   * latency to record: `lastLatencyMs` keeps the last known). Returns false
   * for an endpoint no longer in the set.
   *
   * @throws InvalidArgumentError for an `endpoint` that is not an endpoint
   * of this upstream (no string `id`, `host` and `port`, or another host or
   * port than the endpoint with that id) or an outcome that is not one;
   * nothing is counted.
   */
  report(endpoint: Endpoint, outcome: Outcome): boolean {
    const host = this.#hostOf(endpoint);
    checkOutcome(outcome);
    if (host === undefined) return false;
    const table = this.#table;
    const timed = outcome.latencyMs !== undefined;
    if (timed) {
      table.lastLatencyMs[host.slot] = outcome.latencyMs as number;
      this.#refreshTime();
      table.lastEndedAt[host.slot] = this.#time[0] as number;
    }
    this.#record(host, outcome, timed);
    return true;
  }

  /**
   * An operator's override of an endpoint's eligibility, in force until
   * cleared: `"down"` takes it out of traffic whatever the plug-ins say,
   * `"up"` keeps it in traffic although plug-ins eject it, `undefined`
   * clears the override and the plug-ins' reasons apply again. Takes effect
   * at once. Unlike Kong's `PUT .../targets/{t}/healthy`, which sets the
   * health checker's state until the next check changes it, an override is
   * not undone by later checks. Returns true when an endpoint has that id
   * (whether or not its state changed), false when none has.
   *
   * @throws InvalidArgumentError for an id that is not a string or a state
   * other than "up", "down" and undefined.
   */
  override(id: string, state: EndpointOverride | undefined): boolean {
    if (typeof id !== "string") throw new InvalidArgumentError("id", 'must be an endpoint id, e.g. "10.0.0.1:8080"');
    if (state !== undefined && state !== "up" && state !== "down") {
      throw new InvalidArgumentError("state", `must be "up", "down" or undefined, got ${show(state)}`);
    }
    const host = this.#byId.get(id);
    if (host === undefined) return false;
    this.#table.override[host.slot] = state === "up" ? 1 : state === "down" ? -1 : 0;
    if (this.#table.refreshDown(host.slot)) this.#flipped(host.slot);
    if (this.#planner.flush()) this.#swapPicker();
    return true;
  }

  /** A copy of the counters of the endpoint with this id, if present. */
  stats(id: string): EndpointStats | undefined {
    const host = this.#byId.get(id);
    return host === undefined ? undefined : this.#stats(host.slot);
  }

  /** A point-in-time view: endpoints with health, ejections and counters; levels; weights; attempts; plug-ins. */
  snapshot(): UpstreamSnapshot {
    const table = this.#table;
    let inFlight = 0;
    const endpoints = this.#hosts.map((h): EndpointSnapshot => {
      const slot = h.slot;
      const weight = h.endpoint.weight;
      const down = table.down[slot] === 1;
      inFlight += table.inFlight[slot] as number;
      const ejections: string[] = [];
      const plugins: Record<string, unknown> = {};
      this.#plugins.forEach((p, i) => {
        if (((table.ejection[slot] as number) & (1 << i)) !== 0) ejections.push(p.name);
        const section = p.describeEndpoint?.(h);
        if (section !== undefined) plugins[p.name] = section;
      });
      const o = table.override[slot];
      return {
        endpoint: h.endpoint,
        health: weight === 0 ? "DRAINED" : down ? "UNHEALTHY" : "HEALTHY",
        ejections,
        override: o === 1 ? "up" : o === -1 ? "down" : undefined,
        ...this.#stats(slot),
        plugins,
      };
    });
    const plugins: Record<string, unknown> = {};
    for (const p of this.#plugins) if (p.describe !== undefined) plugins[p.name] = p.describe();
    return {
      name: this.name,
      balancer: this.balancer.name,
      resolver: this.#resolver.name,
      resolved: this.#resolved,
      lastResolverError: summary(this.#lastError),
      endpoints,
      levels: this.#planner.levels(),
      weight: this.#weight(),
      attempts: { inFlight, abandoned: this.#abandoned },
      plugins,
    };
  }

  /**
   * Kong's `GET /upstreams/{name}/health`, in-process: each endpoint's
   * health (`HealthStatus`) with why it is out (each ejecting plug-in and its
   * view of the endpoint, or the override) and for how long; the total,
   * available and unavailable weight; the upstream's own health by
   * `healthThreshold`. Plain, JSON-safe data. O(endpoints).
   *
   * @example
   * const h = upstream.health();
   * if (h.health === "UNHEALTHY") log.warn(`${h.name}: ${h.weight.available} of ${h.weight.total} available`);
   * for (const e of h.endpoints) if (!e.available) log.info(e.id, e.reasons.map((r) => r.source));
   */
  health(): UpstreamHealth {
    const now = this.#clock.now();
    const failing = this.#lastError !== undefined;
    return {
      name: this.name,
      health: this.#health,
      threshold: this.#healthThreshold,
      weight: this.#weight(),
      resolver: { name: this.#resolver.name, lastError: summary(this.#lastError) },
      endpoints: this.#hosts.map((h) => endpointHealth(h, this.#table, this.#plugins, this.#watched, failing, now)),
    };
  }

  /**
   * Resolves once the resolver has produced a first good set. Rejects with the
   * resolver's error if its first resolution fails, with `ReadyTimeoutError`
   * after `timeoutMs` (default: the upstream's `readyTimeoutMs`), with
   * `ClosedError` if the upstream closes, or with the signal's reason; with
   * `InvalidArgumentError` for options it does not take. While it is
   * pending it holds the event loop (its timeout timer is ref'd), so an
   * awaited `ready()` always settles before the process can exit.
   */
  ready(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    if (typeof options !== "object" || options === null) {
      return Promise.reject(new InvalidArgumentError("options", "ready() takes { timeoutMs?, signal? }"));
    }
    const { signal } = options;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      return Promise.reject(new InvalidArgumentError("options.signal", "must be an AbortSignal"));
    }
    let timeoutMs: number;
    try {
      timeoutMs = options.timeoutMs === undefined ? this.#readyTimeoutMs : duration("timeoutMs", options.timeoutMs);
    } catch (e) {
      return Promise.reject(new InvalidArgumentError("options.timeoutMs", (e as Error).message));
    }
    if (this.#closed) return Promise.reject(new ClosedError(`upstream "${this.name}"`));
    if (this.#resolved) return Promise.resolve();
    if (this.#lastError !== undefined) return Promise.reject(this.#lastError);
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      let timer: Timer | undefined;
      const done = () => {
        timer?.cancel();
        signal?.removeEventListener("abort", onAbort);
        this.#waiters.delete(waiter);
      };
      const waiter = {
        resolve: () => {
          done();
          resolve();
        },
        reject: (e: unknown) => {
          done();
          reject(e);
        },
      };
      const onAbort = () => waiter.reject(abortReason(signal as AbortSignal));
      this.#waiters.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
      // A ref'd timer: while a caller awaits ready(), the process stays up until it settles
      // (every other switchyard timer is unref'd, and a pending DNS retry alone would let it exit).
      timer = this.#clock.setTimer(() => waiter.reject(new ReadyTimeoutError(this.name, timeoutMs)), timeoutMs, {
        ref: true,
      });
    });
  }

  /**
   * Stops the plug-ins, lets go of the resolver (closing it when no other
   * upstream uses it), rejects pending `ready()` calls, and releases every
   * timer: after it resolves the upstream holds no handle. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#picker = EMPTY_PICKER;
    this.#pickFn = EMPTY_PICKER.pick;
    this.#reaper?.cancel();
    this.#flushTimer?.cancel();
    this.#rebuildRequests.close();
    this.#slowStart?.close();
    this.#resolver.off("endpoints", this.#onEndpoints, this);
    this.#resolver.off("error", this.#onResolverError, this);
    this.#resolver.off("resolved", this.#onResolved, this);
    for (const w of [...this.#waiters]) w.reject(new ClosedError(`upstream "${this.name}"`));
    await Promise.all([this.#resolver.release(), ...this.#plugins.map(async (p) => p.close?.())]);
    this.emit("close");
    this.removeAllListeners();
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The picked host, or another when it is to be avoided, or after a rebuild when the picker gave up. */
  #choose(host: Host | undefined, context?: PickContext) {
    let chosen = host;
    if (chosen === undefined) {
      // The picker is empty, or gave up skipping ejected hosts: rebuild what is due, then try once more.
      if (this.#closed || !this.#planner.flush(true)) return undefined;
      this.#swapPicker();
      chosen = this.#pickFn.call(this.#picker, context);
      if (chosen === undefined) return undefined;
    }
    const avoid = context?.avoid;
    if (typeof avoid === "object" && avoid !== null && chosen.endpoint.id === avoid.id) {
      for (let k = 0; k < AVOID_TRIES; k++) {
        const other = this.#pickFn.call(this.#picker, context);
        if (other !== undefined && other.endpoint.id !== avoid.id) return other;
      }
    }
    return chosen;
  }

  /**
   * The host of an endpoint this upstream gave out, or undefined when it has
   * left the set. Throws for anything that is not such an endpoint: no
   * string id, host and port, or an id the upstream knows with another host
   * or port (a made-up `{ id }`).
   */
  #hostOf(endpoint: Endpoint): UpstreamHost | undefined {
    if (
      typeof endpoint !== "object" ||
      endpoint === null ||
      typeof endpoint.id !== "string" ||
      typeof endpoint.host !== "string" ||
      typeof endpoint.port !== "number"
    ) {
      throw new InvalidArgumentError("endpoint", "must be an Endpoint the upstream gave out (pick() or endpointOf())");
    }
    const host = this.#byId.get(endpoint.id);
    if (host !== undefined && host.endpoint !== endpoint) {
      if (host.endpoint.host !== endpoint.host || host.endpoint.port !== endpoint.port) {
        throw new InvalidArgumentError("endpoint", `is not the endpoint ${show(endpoint.id)} of this upstream`);
      }
    }
    return host;
  }

  /**
   * Asks the admitting plug-ins; on a refusal, tries other endpoints
   * (honouring `avoid`, rebuilding when due). When every endpoint tried is
   * refused, throws the last refusing plug-in's `refusal()` error.
   */
  #admit(first: Host, context: PickContext | undefined): Host {
    let host: Host | undefined = first;
    let refused: Host = first;
    let refuser: UpstreamPlugin | undefined;
    for (let k = 0; k < ADMISSION_TRIES && host !== undefined; k++) {
      refuser = undefined;
      for (let p = 0; p < this.#admitters.length && refuser === undefined; p++) {
        const plugin = this.#admitters[p] as UpstreamPlugin;
        if (plugin.admit?.(host, context) === false) refuser = plugin;
      }
      if (refuser === undefined) return host;
      refused = host;
      host = this.#choose(this.#pickFn.call(this.#picker, context), context);
      // Steer away from the endpoint just refused (a half-open breaker a load-aware picker keeps choosing).
      for (let t = 0; t < AVOID_TRIES && host !== undefined && host.slot === refused.slot; t++) {
        host = this.#choose(this.#pickFn.call(this.#picker, context), context);
      }
    }
    return this.#refuse(refuser, refused);
  }

  /** Throws the refusing plug-in's error (or `NoEndpointsError("overloaded")` when it has none or it fails). */
  #refuse(plugin: UpstreamPlugin | undefined, host: Host): never {
    let error: unknown;
    try {
      error = plugin?.refusal?.(host);
    } catch (e) {
      error = e;
    }
    throw error instanceof Error ? error : new NoEndpointsError(this.name, "overloaded");
  }

  /**
   * Counts an outcome (as `isFailure` reads it) and hands it to the plug-ins,
   * and to the load metric when `timed` (its latency is in the table).
   */
  #record(host: Host, outcome: Outcome, timed: boolean): void {
    const table = this.#table;
    const slot = host.slot;
    const failure = outcome.failure;
    if (failure === "abandoned") {
      table.abandoned[slot] = (table.abandoned[slot] as number) + 1;
    } else {
      table.requests[slot] = (table.requests[slot] as number) + 1;
      const failed =
        failure === undefined ? outcome.status !== undefined && outcome.status >= 500 : failure !== "cancelled";
      if (failed) {
        table.failures[slot] = (table.failures[slot] as number) + 1;
        table.consecutiveFailures[slot] = (table.consecutiveFailures[slot] as number) + 1;
      } else if (failure !== "cancelled") {
        table.consecutiveFailures[slot] = 0;
      }
      if (timed) this.#metric?.update?.(table, slot, failed);
    }
    for (let p = 0; p < this.#observers.length; p++) (this.#observers[p] as UpstreamPlugin).onOutcome?.(host, outcome);
  }

  /** Reclaims attempts older than the attempt timeout, then waits for the oldest one left. */
  readonly #reap = (): void => {
    this.#reaper = undefined;
    if (this.#closed) return;
    const attempts = this.#attempts;
    const table = this.#table;
    const now = this.#clock.now();
    const timeout = this.#attemptTimeoutMs;
    let oldest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < attempts.capacity; i++) {
      if (!attempts.isOpen(i)) continue;
      const start = attempts.start[i] as number;
      if (start + timeout > now) {
        oldest = Math.min(oldest, start);
        continue;
      }
      const slot = attempts.slotOf(i);
      attempts.end(i);
      this.#abandoned++;
      if (!attempts.sameSlot(i, table.generation[slot] as number)) continue;
      table.addInFlight(slot, -1);
      const host = this.#bySlot[slot] as UpstreamHost;
      this.#record(host, ABANDONED, false);
      this.emit("abandoned", host.endpoint, now - start);
    }
    if (attempts.live > 0 && !this.#closed) {
      this.#reaper = this.#clock.setTimer(this.#reap, Math.max(0, oldest + timeout - now));
    }
  };

  #stats(slot: number): EndpointStats {
    const t = this.#table;
    const latency = t.lastLatencyMs[slot] as number;
    return {
      requests: t.requests[slot] as number,
      failures: t.failures[slot] as number,
      consecutiveFailures: t.consecutiveFailures[slot] as number,
      lastLatencyMs: Number.isNaN(latency) ? undefined : latency,
      inFlight: t.inFlight[slot] as number,
      abandoned: t.abandoned[slot] as number,
    };
  }

  /** Reads the clock into `#time`: once per synchronous run on a `turnTime` clock, else every call. */
  #refreshTime(): void {
    if (this.#turnTime) {
      if (this.#timeValid) return;
      this.#timeValid = true;
      queueMicrotask(this.#invalidateTime);
    }
    this.#time[0] = this.#clock.now();
  }

  /** A slot's `down` flag changed: O(levels) in the planner; a rebuild, if one is due, is held for `rebuildDelayMs`. */
  #flipped(slot: number): void {
    const table = this.#table;
    const now = this.#clock.now();
    const down = table.down[slot] === 1;
    table.stateSince[slot] = now;
    const host = this.#bySlot[slot] as UpstreamHost;
    if (!down) {
      table.warmupStart[slot] = now;
      this.#slowStart?.begin(host, now); // recovery restarts the ramp
    }
    this.#weightAvailable += down ? -host.endpoint.weight : host.endpoint.weight;
    const due = this.#planner.flip(slot, down);
    this.#swapPicker();
    this.#checkHealth();
    if (due && this.#flushTimer === undefined && !this.#closed) {
      this.#flushTimer = this.#clock.setTimer(() => {
        this.#flushTimer = undefined;
        if (!this.#closed && this.#planner.flush()) this.#swapPicker();
      }, this.#rebuildDelayMs);
    }
  }

  /** Recounts the total and available weight (after a set change). */
  #countWeight(): void {
    let total = 0;
    let available = 0;
    for (const h of this.#hosts) {
      const w = h.endpoint.weight;
      total += w;
      if (this.#table.down[h.slot] === 0) available += w;
    }
    this.#weightTotal = total;
    this.#weightAvailable = available;
  }

  #weight(): { total: number; available: number; unavailable: number } {
    const total = this.#weightTotal;
    const available = this.#weightAvailable;
    return { total, available, unavailable: total - available };
  }

  /** Emits `health` when the threshold rule's answer changed. */
  #checkHealth(): void {
    const health = upstreamHealth(this.#weightAvailable, this.#weightTotal, this.#healthThreshold);
    if (health === this.#health || this.#closed) return;
    this.#health = health;
    this.emit("health", { health, threshold: this.#healthThreshold, weight: this.#weight() });
  }

  #swapPicker(): void {
    const picker = this.#planner.picker;
    if (picker === this.#picker || this.#closed) return;
    this.#picker = picker;
    this.#pickFn = picker.pick;
    this.emit("picker", picker);
  }

  #pluginContext(index: number, random: Random): PluginContext {
    const bit = 1 << index;
    const table = this.#table;
    return {
      upstream: this.name,
      table,
      clock: this.#clock,
      random,
      hosts: () => this.#hosts,
      inFlight: () => this.#attempts.live,
      eject: (host, ejected) => {
        if (this.#bySlot[host.slot] !== host) return false;
        const before = table.ejection[host.slot] as number;
        const after = ejected ? before | bit : before & ~bit;
        if (after === before) return false;
        table.ejection[host.slot] = after >>> 0;
        if (table.refreshDown(host.slot)) this.#flipped(host.slot);
        return true;
      },
      ejected: (host) => this.#bySlot[host.slot] === host && ((table.ejection[host.slot] as number) & bit) !== 0,
    };
  }

  #onEndpoints(endpoints: readonly Endpoint[], delta?: EndpointsDelta): void {
    if (this.#closed) return;
    if (delta !== undefined && this.#resolved) {
      this.#applyDelta(delta);
      return;
    }
    const round = ++this.#round;
    const now = this.#clock.now();
    const added: UpstreamHost[] = [];
    const updated = new Updates();
    const removed: UpstreamHost[] = [];
    const hosts: UpstreamHost[] = [];
    const warm = this.#hosts.length > 0; // slow start: newcomers to a set in use warm, the first set does not
    for (const e of endpoints) {
      if (this.#accept !== undefined && !this.#accept(e)) continue;
      let host = this.#byId.get(e.id);
      if (host === undefined) {
        host = this.#join(e, now, warm);
        added.push(host);
      } else {
        this.#update(host, e, now, updated);
      }
      host.seen = round;
      hosts.push(host);
    }
    if (hosts.length !== this.#byId.size) {
      for (const [id, host] of this.#byId) {
        if (host.seen !== round) {
          this.#byId.delete(id);
          removed.push(host);
        }
      }
    }
    const first = !this.#resolved;
    this.#resolved = true;
    if (first || added.length > 0 || updated.hosts.length > 0 || removed.length > 0) {
      this.#applied(hosts, added, updated, removed);
    }
    if (first) for (const w of [...this.#waiters]) w.resolve();
  }

  /**
   * Applies a resolver's delta in O(changed) (plus the rebuild of the
   * pickers of the priority levels it touches, and one copy of the host
   * list): no pass over the whole set.
   */
  #applyDelta(delta: EndpointsDelta): void {
    const now = this.#clock.now();
    const added: UpstreamHost[] = [];
    const updated = new Updates();
    const removed: UpstreamHost[] = [];
    const warm = this.#hosts.length > 0; // as for a whole set: newcomers to an empty set do not warm
    const hosts = this.#hosts.slice();
    // Kong's weights, kept in step: total and available move by what joined, left or changed.
    const weightChange = { total: 0, available: 0 };
    const count = (host: UpstreamHost, sign: number) => {
      const w = sign * host.endpoint.weight;
      weightChange.total += w;
      if (this.#table.down[host.slot] === 0) weightChange.available += w;
    };
    const leave = (host: UpstreamHost) => {
      count(host, -1);
      this.#byId.delete(host.endpoint.id);
      removed.push(host);
      const i = hostIndex(hosts, host.endpoint.id);
      if (hosts[i] === host) hosts.splice(i, 1);
    };
    for (const id of delta.removals) {
      const host = this.#byId.get(id);
      if (host !== undefined) leave(host);
    }
    for (const e of delta.upserts) {
      const host = this.#byId.get(e.id);
      if (this.#accept !== undefined && !this.#accept(e)) {
        if (host !== undefined) leave(host); // no longer passes the filter
        continue;
      }
      if (host === undefined) {
        const joined = this.#join(e, now, warm);
        count(joined, 1);
        added.push(joined);
        hosts.splice(hostIndex(hosts, e.id), 0, joined);
      } else {
        count(host, -1);
        this.#update(host, e, now, updated);
        count(host, 1);
      }
    }
    if (added.length > 0 || updated.hosts.length > 0 || removed.length > 0) {
      this.#applied(hosts, added, updated, removed, weightChange);
    }
  }

  /** A new endpoint: a slot in the table, known by id and slot; with `warm`, slow start ramps it. */
  #join(e: Endpoint, now: number, warm: boolean): UpstreamHost {
    const host = new UpstreamHost(e, this.#table.allocate(e.weight, now));
    this.#byId.set(e.id, host);
    this.#bySlot[host.slot] = host;
    if (warm) this.#slowStart?.begin(host, now);
    return host;
  }

  /** A new version of a known endpoint; when anything but its id changed, it is noted in `updates`. */
  #update(host: UpstreamHost, e: Endpoint, now: number, updates: Updates): void {
    const before = host.endpoint;
    if (sameEndpoint(before, e)) return;
    host.endpoint = e;
    updates.hosts.push(host);
    updates.before.push(before);
    this.#table.effectiveWeight[host.slot] = e.weight;
    this.#slowStart?.reweigh(host, before.weight, now);
  }

  /**
   * A set change is known: the leavers' slots are freed, plug-ins told, the
   * pickers of the levels it touched rebuilt, events emitted.
   */
  #applied(
    hosts: UpstreamHost[],
    added: UpstreamHost[],
    updated: Updates,
    removed: UpstreamHost[],
    weightChange?: { total: number; available: number },
  ): void {
    const table = this.#table;
    this.#hosts = hosts;
    const leftDown: boolean[] = [];
    for (const host of removed) {
      for (const p of this.#plugins) p.onLeave?.(host);
      this.#slowStart?.end(host);
      this.#bySlot[host.slot] = undefined;
      leftDown.push(table.down[host.slot] === 1); // for the planner: release() clears it
      table.release(host.slot);
    }
    for (const host of added) for (const p of this.#plugins) p.onJoin?.(host);
    this.#planner.update({
      hosts,
      joined: added,
      left: removed,
      leftDown,
      changed: updated.hosts,
      before: updated.before,
    });
    this.#swapPicker();
    if (weightChange === undefined) {
      this.#countWeight();
    } else {
      this.#weightTotal += weightChange.total;
      this.#weightAvailable += weightChange.available;
    }
    if (this.listenerCount("endpoints") > 0) {
      const upstream = this;
      let all: readonly Endpoint[] | undefined;
      this.emit("endpoints", {
        // The whole set only for a listener that reads it: a delta stays O(changed) up to here.
        get endpoints() {
          all ??= upstream.endpoints;
          return all;
        },
        added: added.map((h) => h.endpoint),
        removed: removed.map((h) => h.endpoint),
        updated: updated.hosts.map((h) => h.endpoint),
      });
    }
    this.#checkHealth();
  }

  /** Any successful resolution, changed or not, ends the last resolver error. */
  #onResolved(): void {
    this.#lastError = undefined;
  }

  #onResolverError(error: Error): void {
    if (this.#closed) return;
    this.#lastError = error;
    this.emit("resolverError", error);
    if (!this.#resolved) for (const w of [...this.#waiters]) w.reject(error);
  }

  #noEndpoints(): Error {
    if (this.#closed) return new ClosedError(`upstream "${this.name}"`);
    let reason: NoEndpointsReason = "unhealthy";
    if (!this.#resolved) reason = "unresolved";
    else if (this.#hosts.length === 0) reason = "empty";
    else if (this.#hosts.every((h) => h.endpoint.weight === 0)) reason = "drained";
    return new NoEndpointsError(this.name, reason);
  }
}

/** Creates an `Upstream` and starts its resolver. */
export function createUpstream(options: UpstreamOptions): Upstream {
  return new Upstream(options);
}

function summary(error: Error | undefined): ErrorSummary | undefined {
  if (error === undefined) return undefined;
  const code = (error as { code?: unknown }).code;
  return { name: error.name, code: typeof code === "string" ? code : undefined, message: error.message };
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new AbortError();
}

/** The hosts of a set change whose endpoint changed (not their id), each with its endpoint before. */
class Updates {
  readonly hosts: UpstreamHost[] = [];
  readonly before: Endpoint[] = [];
}
