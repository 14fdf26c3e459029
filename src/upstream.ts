import { EventEmitter } from "eventemitter3";
import type { Balancer, BalancerContext, PickContext, Picker } from "./balancer.js";
import { EMPTY_PICKER } from "./balancer.js";
import type { PriorityLevel, PriorityOptions } from "./balancers/priority.js";
import { buildPriorityPlan, priorityOptions } from "./balancers/priority.js";
import { weightedRoundRobin } from "./balancers/weighted-round-robin.js";
import type { Clock, Timer } from "./clock.js";
import { systemClock } from "./clock.js";
import type { Endpoint } from "./endpoint.js";
import { sameEndpoint } from "./endpoint.js";
import type { EndpointFilter } from "./endpoint-filter.js";
import { endpointMatcher } from "./endpoint-filter.js";
import type { EndpointStats } from "./endpoint-state.js";
import { EndpointState } from "./endpoint-state.js";
import { AbortError, ClosedError, InvalidConfigError, NoEndpointsError, ReadyTimeoutError } from "./errors.js";
import type { Outcome } from "./outcome.js";
import type { Random } from "./random.js";
import { systemRandom } from "./random.js";
import type { Resolver } from "./resolver.js";

/** Options of `createUpstream()`. */
export interface UpstreamOptions {
  /** The service name (Kong upstream name, Envoy cluster name). */
  name: string;
  /** Where endpoints come from. The upstream starts it, and closes it on `close()`. */
  resolver: Resolver;
  /** How to choose within a priority level. Default `weightedRoundRobin()`. */
  balancer?: Balancer;
  /** Priority-level spill and panic threshold (Envoy defaults: 1.4 and 50%). */
  priority?: PriorityOptions;
  /** Keep only matching endpoints (a service version, a zone) before balancing. */
  filter?: EndpointFilter;
  /** Default timeout of `ready()`, ms. Default 10,000. */
  readyTimeoutMs?: number;
  /** Time source. Default the system clock. */
  clock?: Clock;
  /** Randomness source. Default `Math.random`. */
  random?: Random;
}

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
  /** A new picker was swapped in (after a set change or a health change). */
  picker: (picker: Picker) => void;
  /** The resolver failed; the last good set stays in force. */
  resolverError: (error: Error) => void;
  /** `close()` finished. */
  close: () => void;
}

/** Health of one endpoint in a snapshot (Kong's target health words). */
export type EndpointHealth = "HEALTHY" | "UNHEALTHY" | "DRAINED";

/** One endpoint in `Upstream.snapshot()`. */
export interface EndpointSnapshot extends EndpointStats {
  readonly endpoint: Endpoint;
  readonly health: EndpointHealth;
}

/** A point-in-time view of an upstream, shaped after Kong's `GET /upstreams/{name}/health`. */
export interface UpstreamSnapshot {
  readonly name: string;
  readonly balancer: string;
  readonly resolver: string;
  /** True once the resolver produced a good set. */
  readonly resolved: boolean;
  /** The last error the resolver reported, until its next successful resolution. */
  readonly lastResolverError: Error | undefined;
  readonly endpoints: readonly EndpointSnapshot[];
  /** Priority levels, lowest first, with their load and panic state. */
  readonly levels: readonly PriorityLevel[];
  /** Kong's `data.weight`: total weight, and the part that can take traffic. */
  readonly weight: { readonly total: number; readonly available: number; readonly unavailable: number };
}

/**
 * One service and its endpoints (Kong upstream, Envoy cluster): owns a
 * resolver and a balancer, keeps per-endpoint state keyed by id across
 * updates, and swaps in a new immutable picker whenever the set or an
 * endpoint's eligibility changes. A resolver error never removes endpoints.
 *
 * @example
 * const api = createUpstream({ name: "api", resolver: staticResolver(["http://10.0.0.1:8080"]) });
 * await api.ready();
 * const endpoint = api.pick();
 */
export class Upstream extends EventEmitter<UpstreamEvents> {
  /** The service name. */
  readonly name: string;
  /** The balancer used within each priority level. */
  readonly balancer: Balancer;
  readonly #resolver: Resolver;
  readonly #clock: Clock;
  readonly #context: BalancerContext;
  readonly #priority: Required<PriorityOptions>;
  readonly #accept: ((endpoint: Endpoint) => boolean) | undefined;
  readonly #readyTimeoutMs: number;
  readonly #states = new Map<string, EndpointState>();
  #hosts: EndpointState[] = [];
  #levels: readonly PriorityLevel[] = [];
  #picker: Picker = EMPTY_PICKER;
  #round = 0;
  #resolved = false;
  #lastError: Error | undefined;
  #closed = false;
  readonly #waiters = new Set<{ resolve: () => void; reject: (e: unknown) => void }>();

  constructor(options: UpstreamOptions) {
    super();
    if (typeof options?.name !== "string" || options.name === "") {
      throw new InvalidConfigError("name", "an upstream needs a non-empty name");
    }
    if (options.resolver === undefined || typeof options.resolver.start !== "function") {
      throw new InvalidConfigError("resolver", "an upstream needs a resolver");
    }
    const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
    if (!(readyTimeoutMs >= 0)) throw new InvalidConfigError("readyTimeoutMs", `must be >= 0, got ${readyTimeoutMs}`);
    this.name = options.name;
    this.balancer = options.balancer ?? weightedRoundRobin();
    this.#resolver = options.resolver;
    this.#clock = options.clock ?? systemClock;
    this.#context = { clock: this.#clock, random: options.random ?? systemRandom };
    this.#priority = priorityOptions(options.priority);
    this.#accept = options.filter === undefined ? undefined : endpointMatcher(options.filter);
    this.#readyTimeoutMs = readyTimeoutMs;
    this.#resolver.on("endpoints", this.#onEndpoints, this);
    this.#resolver.on("error", this.#onResolverError, this);
    this.#resolver.on("resolved", this.#onResolved, this);
    const known = this.#resolver.endpoints;
    if (known !== undefined) this.#onEndpoints(known);
    this.#resolver.start();
  }

  /** The endpoints in force (after the filter), sorted by id. */
  get endpoints(): readonly Endpoint[] {
    return this.#hosts.map((h) => h.endpoint);
  }

  /** The current picker. Replaced, never mutated, on every change. */
  get picker(): Picker {
    return this.#picker;
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Chooses an endpoint for one attempt. Synchronous and allocation-free.
   *
   * @throws NoEndpointsError when nothing is eligible (no endpoints yet, all
   * drained, or all unhealthy with panic disabled).
   * @throws ClosedError after `close()`.
   */
  pick(context?: PickContext): Endpoint {
    const endpoint = this.#picker.pick(context);
    if (endpoint !== undefined) return endpoint;
    if (this.#closed) throw new ClosedError(`upstream "${this.name}"`);
    throw new NoEndpointsError(this.name, this.#noEndpointsReason());
  }

  /** Like `pick()`, but returns `undefined` instead of throwing. */
  tryPick(context?: PickContext): Endpoint | undefined {
    return this.#picker.pick(context);
  }

  /** Reports the outcome of an attempt against `endpoint`. Ignored for an endpoint no longer in the set. */
  report(endpoint: Endpoint, outcome: Outcome): void {
    this.#states.get(endpoint.id)?.record(outcome);
  }

  /**
   * Overrides an endpoint's health by hand (Kong's `PUT .../targets/{t}/healthy`
   * and `.../unhealthy`); `undefined` clears the override. Returns false if no
   * endpoint has that id.
   */
  setHealth(id: string, healthy: boolean | undefined): boolean {
    const state = this.#states.get(id);
    if (state === undefined) return false;
    if (state.manualHealth === healthy) return true;
    state.manualHealth = healthy;
    this.#rebuild();
    return true;
  }

  /** The counters and health of the endpoint with this id, if present. */
  stats(id: string): EndpointStats | undefined {
    return this.#states.get(id);
  }

  /** A point-in-time view: endpoints with weight, priority, health and counters; levels; weights. */
  snapshot(): UpstreamSnapshot {
    let total = 0;
    let available = 0;
    const endpoints = this.#hosts.map((h): EndpointSnapshot => {
      const health: EndpointHealth = h.endpoint.weight === 0 ? "DRAINED" : h.healthy ? "HEALTHY" : "UNHEALTHY";
      total += h.endpoint.weight;
      if (health === "HEALTHY") available += h.endpoint.weight;
      return {
        endpoint: h.endpoint,
        health,
        requests: h.requests,
        failures: h.failures,
        consecutiveFailures: h.consecutiveFailures,
        lastLatencyMs: h.lastLatencyMs,
      };
    });
    return {
      name: this.name,
      balancer: this.balancer.name,
      resolver: this.#resolver.name,
      resolved: this.#resolved,
      lastResolverError: this.#lastError,
      endpoints,
      levels: this.#levels,
      weight: { total, available, unavailable: total - available },
    };
  }

  /**
   * Resolves once the resolver has produced a first good set. Rejects with the
   * resolver's error if its first resolution fails, with `ReadyTimeoutError`
   * after `timeoutMs` (default: the upstream's `readyTimeoutMs`), with
   * `ClosedError` if the upstream closes, or with the signal's reason.
   */
  ready(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError(`upstream "${this.name}"`));
    if (this.#resolved) return Promise.resolve();
    if (this.#lastError !== undefined) return Promise.reject(this.#lastError);
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const timeoutMs = options.timeoutMs ?? this.#readyTimeoutMs;
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
      timer = this.#clock.setTimer(() => waiter.reject(new ReadyTimeoutError(this.name, timeoutMs)), timeoutMs);
    });
  }

  /**
   * Stops the resolver, rejects pending `ready()` calls, and releases every
   * timer: after it resolves the upstream holds no handle. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#picker = EMPTY_PICKER;
    this.#resolver.off("endpoints", this.#onEndpoints, this);
    this.#resolver.off("error", this.#onResolverError, this);
    this.#resolver.off("resolved", this.#onResolved, this);
    for (const w of [...this.#waiters]) w.reject(new ClosedError(`upstream "${this.name}"`));
    await this.#resolver.close();
    this.emit("close");
    this.removeAllListeners();
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #onEndpoints(endpoints: readonly Endpoint[]): void {
    if (this.#closed) return;
    const round = ++this.#round;
    const now = this.#clock.now();
    const added: Endpoint[] = [];
    const updated: Endpoint[] = [];
    const removed: Endpoint[] = [];
    const hosts: EndpointState[] = [];
    for (const e of endpoints) {
      if (this.#accept !== undefined && !this.#accept(e)) continue;
      let state = this.#states.get(e.id);
      if (state === undefined) {
        state = new EndpointState(e, now);
        this.#states.set(e.id, state);
        added.push(e);
      } else if (!sameEndpoint(state.endpoint, e)) {
        state.endpoint = e;
        updated.push(e);
      }
      state.seen = round;
      hosts.push(state);
    }
    if (hosts.length !== this.#states.size) {
      for (const [id, state] of this.#states) {
        if (state.seen !== round) {
          this.#states.delete(id);
          removed.push(state.endpoint);
        }
      }
    }
    const first = !this.#resolved;
    this.#resolved = true;
    if (first || added.length > 0 || updated.length > 0 || removed.length > 0) {
      this.#hosts = hosts;
      this.#rebuild();
      this.emit("endpoints", { endpoints: this.endpoints, added, removed, updated });
    }
    if (first) for (const w of [...this.#waiters]) w.resolve();
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

  #rebuild(): void {
    const plan = buildPriorityPlan(this.#hosts, this.balancer, this.#context, this.#priority);
    this.#levels = plan.levels;
    this.#picker = plan.picker;
    this.emit("picker", plan.picker);
  }

  #noEndpointsReason(): string {
    if (!this.#resolved) return "no endpoints resolved yet";
    if (this.#hosts.length === 0) return "the endpoint set is empty";
    if (this.#hosts.every((h) => h.endpoint.weight === 0)) return "every endpoint has weight 0";
    return "every endpoint is unhealthy and the panic threshold is disabled";
  }
}

/** Creates an `Upstream` and starts its resolver. */
export function createUpstream(options: UpstreamOptions): Upstream {
  return new Upstream(options);
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new AbortError();
}
