import type { EndpointInput } from "../../endpoint.js";
import { endpoint as toEndpoint } from "../../endpoint.js";
import { InvalidConfigError, show } from "../../errors.js";
import type { Random } from "../../random.js";
import type { LatencyDistribution } from "./latency.js";
import { constantLatency } from "./latency.js";
import { CONNECT, FAILED_STATUS, RESET, SUCCESS } from "./request-log.js";

/**
 * What a failing simulated request looks like to the client: an HTTP
 * status (a 5xx answer, after the request's latency) or a failure kind
 * with no answer (`connect`: refused; `reset`: broken after connecting).
 */
export type SimulatedFailure = { readonly status: number } | { readonly failure: "connect" | "reset" };

/**
 * A span of simulated time, `fromMs` (inclusive) to `toMs` (exclusive), in
 * which a backend behaves differently; a request is in a phase when it
 * begins in it. Each field set here overrides the backend's own while the
 * phase lasts; where phases overlap, each field comes from the first phase
 * in force that sets it.
 */
export interface BackendPhase {
  /** Start of the phase, ms since the start of the run (inclusive). */
  readonly fromMs: number;
  /** End of the phase, ms (exclusive); `Infinity` for the rest of the run. */
  readonly toMs: number;
  /** The latency during the phase (a slow phase). In a `down` phase: the time until the connect failure. */
  readonly latency?: LatencyDistribution;
  /** The fraction of requests that fail during the phase, 0..1. */
  readonly failureRate?: number;
  /** How those requests fail. */
  readonly failure?: SimulatedFailure;
  /**
   * The backend is dead: every request fails with `{ failure: "connect" }`,
   * after the phase's `latency` when it sets one (a black hole: connections
   * hang until the client's timeout ends them), else at once (refused).
   */
  readonly down?: boolean;
}

/**
 * One backend of a simulation: an endpoint of the simulated upstream and
 * how it answers. A backend serves any number of requests at once: its
 * latency does not grow with its load (no queue is modelled).
 */
export interface SimulatedBackend {
  /**
   * The endpoint the upstream sees (a string or an `EndpointInput`: weight,
   * priority, zone...). Default `10.0.x.y:8080` from the backend's index
   * (10.0.0.1:8080 for the first). Ids must differ.
   */
  readonly endpoint?: string | EndpointInput;
  /** How long it takes to answer. */
  readonly latency: LatencyDistribution;
  /** The fraction of requests that fail, 0..1. Default 0. */
  readonly failureRate?: number;
  /** How they fail. Default `{ status: 503 }`. */
  readonly failure?: SimulatedFailure;
  /** Spans of time in which it behaves differently (slow, failing, down), e.g. `slowPhase()` and `outage()`. */
  readonly phases?: readonly BackendPhase[];
}

/**
 * A slow phase: from `fromMs` to `toMs` the backend answers with `latency`
 * (a distribution, or a number of ms for a constant).
 *
 * @example
 * { latency: normalLatency(167, 5), phases: [slowPhase(15_000, 45_000, 2000)] }
 */
export function slowPhase(fromMs: number, toMs: number, latency: LatencyDistribution | number): BackendPhase {
  return { fromMs, toMs, latency: typeof latency === "number" ? constantLatency(latency) : latency };
}

/**
 * An outage: from `fromMs` to `toMs` the backend refuses connections
 * (`{ failure: "connect" }` at once); it answers as before from `toMs` on.
 *
 * @example
 * { latency: constantLatency(20), phases: [outage(10_000, 20_000)] }
 */
export function outage(fromMs: number, toMs: number): BackendPhase {
  return { fromMs, toMs, down: true };
}

/** One request's answer, written by `BackendModel.respond()` into a scratch record. @internal */
export interface Response {
  code: number;
  status: number;
  latencyMs: number;
}

const NO_PHASES: readonly BackendPhase[] = [];

/** A validated backend with its own seeded random: answers requests. @internal */
export class BackendModel {
  readonly endpoint: string | EndpointInput;
  readonly id: string;
  readonly #random: Random;
  readonly #latency: LatencyDistribution;
  readonly #failureRate: number;
  readonly #failure: SimulatedFailure;
  readonly #phases: readonly BackendPhase[];
  readonly #option: string;

  constructor(spec: SimulatedBackend, index: number, random: Random) {
    const option = `backends[${index}]`;
    this.#option = option;
    this.endpoint = spec.endpoint ?? defaultEndpoint(index);
    try {
      this.id = toEndpoint(this.endpoint).id;
    } catch (e) {
      throw new InvalidConfigError(`${option}.endpoint`, (e as Error).message);
    }
    this.#random = random;
    this.#latency = spec.latency;
    this.#failureRate = spec.failureRate ?? 0;
    this.#failure = spec.failure ?? { status: 503 };
    this.#phases = spec.phases ?? NO_PHASES;
  }

  /** Answers a request begun at `timeMs`: writes its code, status and latency into `out`. */
  respond(timeMs: number, out: Response): void {
    let latency: LatencyDistribution | undefined;
    let failureRate: number | undefined;
    let failure: SimulatedFailure | undefined;
    let down: boolean | undefined;
    for (const p of this.#phases) {
      if (timeMs < p.fromMs || timeMs >= p.toMs) continue;
      latency ??= p.latency;
      failureRate ??= p.failureRate;
      failure ??= p.failure;
      down ??= p.down;
    }
    if (down === true) {
      out.code = CONNECT;
      out.status = 0;
      out.latencyMs = latency === undefined ? 0 : this.#draw(latency, timeMs);
      return;
    }
    out.latencyMs = this.#draw(latency ?? this.#latency, timeMs);
    const rate = failureRate ?? this.#failureRate;
    if (rate > 0 && this.#random.next() < rate) {
      const f = failure ?? this.#failure;
      if ("status" in f) {
        // Classed as the upstream classes it (isFailure): only a 5xx is a failure.
        out.code = f.status >= 500 ? FAILED_STATUS : SUCCESS;
        out.status = f.status;
      } else {
        out.code = f.failure === "connect" ? CONNECT : RESET;
        out.status = 0;
      }
      return;
    }
    out.code = SUCCESS;
    out.status = 200;
  }

  #draw(latency: LatencyDistribution, timeMs: number): number {
    const ms = latency(this.#random, timeMs);
    if (!(typeof ms === "number" && ms >= 0 && ms < Number.POSITIVE_INFINITY)) {
      throw new InvalidConfigError(
        `${this.#option}.latency`,
        `must give a finite number of ms >= 0, gave ${show(ms)} for a request at ${timeMs} ms`,
      );
    }
    return ms;
  }
}

/** `10.0.x.y:8080` for backend `index` (10.0.0.1 for 0). */
function defaultEndpoint(index: number): string {
  const n = index + 1;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}:8080`;
}

/**
 * Checks a scenario's `backends`: a non-empty array of `SimulatedBackend`
 * with distinct endpoint ids. Throws `InvalidConfigError` naming the field
 * (`backends[2].phases[0].toMs`). @internal
 */
export function checkBackends(backends: unknown): readonly SimulatedBackend[] {
  if (!Array.isArray(backends) || backends.length === 0) {
    throw new InvalidConfigError("backends", `must be a non-empty array of backends, got ${show(backends)}`);
  }
  backends.forEach((b: unknown, i) => {
    const at = `backends[${i}]`;
    if (typeof b !== "object" || b === null) throw new InvalidConfigError(at, `must be an object, got ${show(b)}`);
    const spec = b as Partial<SimulatedBackend>;
    checkLatency(`${at}.latency`, spec.latency, true);
    checkRate(`${at}.failureRate`, spec.failureRate);
    checkFailure(`${at}.failure`, spec.failure);
    if (spec.phases === undefined) return;
    if (!Array.isArray(spec.phases)) {
      throw new InvalidConfigError(`${at}.phases`, `must be an array of phases, got ${show(spec.phases)}`);
    }
    spec.phases.forEach((p: unknown, j) => {
      checkPhase(`${at}.phases[${j}]`, p);
    });
  });
  return backends as SimulatedBackend[];
}

function checkPhase(at: string, p: unknown): void {
  if (typeof p !== "object" || p === null) throw new InvalidConfigError(at, `must be an object, got ${show(p)}`);
  const phase = p as Partial<BackendPhase>;
  const { fromMs, toMs } = phase;
  if (!(typeof fromMs === "number" && Number.isFinite(fromMs))) {
    throw new InvalidConfigError(`${at}.fromMs`, `must be a finite number of ms, got ${show(fromMs)}`);
  }
  if (!(typeof toMs === "number" && toMs > fromMs)) {
    throw new InvalidConfigError(`${at}.toMs`, `must be a number of ms > fromMs (${fromMs}), got ${show(toMs)}`);
  }
  checkLatency(`${at}.latency`, phase.latency, false);
  checkRate(`${at}.failureRate`, phase.failureRate);
  checkFailure(`${at}.failure`, phase.failure);
  if (phase.down !== undefined && typeof phase.down !== "boolean") {
    throw new InvalidConfigError(`${at}.down`, `must be a boolean, got ${show(phase.down)}`);
  }
}

function checkLatency(at: string, latency: unknown, required: boolean): void {
  if (latency === undefined && !required) return;
  if (typeof latency !== "function") {
    throw new InvalidConfigError(
      at,
      `must be a LatencyDistribution ((random, timeMs) => ms), e.g. normalLatency(167, 5), got ${show(latency)}`,
    );
  }
}

function checkRate(at: string, rate: unknown): void {
  if (rate !== undefined && !(typeof rate === "number" && rate >= 0 && rate <= 1)) {
    throw new InvalidConfigError(at, `must be a fraction in 0..1, got ${show(rate)}`);
  }
}

function checkFailure(at: string, failure: unknown): void {
  if (failure === undefined) return;
  const f = failure as { status?: unknown; failure?: unknown } | null;
  const byStatus = typeof f === "object" && f !== null && "status" in f && !("failure" in f);
  const byKind = typeof f === "object" && f !== null && "failure" in f && !("status" in f);
  const ok =
    (byStatus && Number.isInteger(f.status) && (f.status as number) >= 100 && (f.status as number) <= 599) ||
    (byKind && (f.failure === "connect" || f.failure === "reset"));
  if (!ok) {
    throw new InvalidConfigError(
      at,
      `must be { status } (an HTTP status, 100..599) or { failure: "connect" | "reset" }, got ${show(failure)}`,
    );
  }
}
