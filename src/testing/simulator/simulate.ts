import { CircuitOpenError, ConcurrencyLimitError, InvalidConfigError, NoEndpointsError, show } from "../../errors.js";
import type { Outcome } from "../../outcome.js";
import type { UpstreamOptions } from "../../upstream/options.js";
import type { Upstream } from "../../upstream/upstream.js";
import { createUpstream } from "../../upstream/upstream.js";
import { ManualClock } from "../manual-clock.js";
import { ManualResolver } from "../manual-resolver.js";
import { SeededRandom } from "../seeded-random.js";
import type { ArrivalSpacing } from "./arrivals.js";
import { Arrivals } from "./arrivals.js";
import type { Response, SimulatedBackend } from "./backend.js";
import { BackendModel, checkBackends } from "./backend.js";
import { EventQueue } from "./event-queue.js";
import type { SimulationReport } from "./report.js";
import { buildReport } from "./report.js";
import { CONNECT, FAILED_STATUS, RESET, RequestLog, SUCCESS, TIMEOUT, UNAVAILABLE } from "./request-log.js";

/**
 * The upstream a simulation drives: `createUpstream()`'s options but the
 * ones the simulator supplies (`resolver`, `clock`, `random`), with `name`
 * optional (default `"simulated"`).
 */
export type SimulatedUpstreamOptions = Omit<UpstreamOptions, "name" | "resolver" | "clock" | "random"> & {
  name?: string;
};

/** A simulation: backends, traffic, and the upstream configuration under test. */
export interface Scenario {
  /**
   * Seeds every random choice of the run, each from its own stream: the
   * upstream's (balancer, plug-ins' jitter), the arrivals', and each
   * backend's latencies and failures. Default 1.
   */
  seed?: number;
  /** How long requests arrive, ms (finite, > 0). Requests still in flight then run to their end. */
  durationMs: number;
  /** Requests per second, open loop: they arrive whatever the latency (finite, > 0). */
  ratePerSecond: number;
  /** How arrivals are spaced: `"poisson"` (default) or `"fixed"`. */
  arrivals?: ArrivalSpacing;
  /**
   * The client's timeout per request, ms (> 0): a request not answered by
   * then ends as `{ failure: "timeout" }` with latency `timeoutMs`, which is
   * what the upstream (and its load metric and plug-ins) is told. Default
   * `Infinity` (requests wait for their answer).
   */
  timeoutMs?: number;
  /** The backends, one endpoint each. */
  backends: readonly SimulatedBackend[];
  /**
   * The upstream under test: balancer, plug-ins, priority, attempt timeout...
   * A function is called once per run: use one when the options hold
   * plug-ins, which attach to one upstream each, so that running a scenario
   * twice gets fresh ones.
   */
  upstream?: SimulatedUpstreamOptions | (() => SimulatedUpstreamOptions);
  /** Width of the report's time-series buckets, ms (finite, > 0). Default 1000. */
  bucketMs?: number;
}

/** The most requests one run may have (rate × duration): beyond it the log would take gigabytes. */
const MAX_REQUESTS = 10_000_000;

/**
 * Runs a deterministic discrete-event simulation of a scenario through a
 * real upstream (`createUpstream()` over a `ManualResolver` announcing the
 * backends, a `ManualClock` starting at 0, `SeededRandom`s), and reports
 * what the clients saw.
 *
 * Each request arrives (open loop), goes through `upstream.begin()` and
 * `endpointOf()` to a backend, which draws its answer; it ends at arrival +
 * latency with `upstream.end(token, outcome)` (`latencyMs` given), or at the
 * client's timeout as `{ failure: "timeout" }`. A request `begin()` refuses
 * (`NoEndpointsError`, or a plug-in's refusal: `CircuitOpenError`,
 * `ConcurrencyLimitError`) counts as unavailable.
 *
 * Events run in time order from a binary heap; before each, the clock is
 * advanced to its time, so the upstream's and plug-ins' own timers (the
 * attempt reaper, breaker timers, rebuild flushes) fire in order between
 * them: a timer due at or before an event's time fires before it. At equal
 * times, requests end before new ones arrive, and among ends the earlier
 * arrival goes first. Plug-in work that awaits between timers does not run
 * within the simulation (the clock is advanced synchronously).
 *
 * The same scenario and seed give the same report, on every machine.
 *
 * @example
 * const report = await simulate({
 *   durationMs: 10_000,
 *   ratePerSecond: 100,
 *   timeoutMs: 1000,
 *   backends: [{ latency: normalLatency(20, 2) }, { latency: constantLatency(20), phases: [outage(2000, 4000)] }],
 *   upstream: { balancer: leastRequest() },
 * });
 * report.successRate; // fraction of requests answered with a success
 * @throws InvalidConfigError naming the option for a bad scenario (also
 * from the run, when a latency distribution returns a bad value).
 */
export async function simulate(scenario: Scenario): Promise<SimulationReport> {
  const run = new Run(scenario);
  try {
    run.run();
    return run.report();
  } finally {
    await run.upstream.close();
  }
}

/** One run of a scenario: the upstream, the event loop and the log. */
class Run {
  readonly upstream: Upstream;
  readonly #clock = new ManualClock(0);
  readonly #seed: number;
  readonly #durationMs: number;
  readonly #bucketMs: number;
  readonly #timeoutMs: number;
  readonly #arrivals: Arrivals;
  readonly #backends: readonly BackendModel[];
  readonly #backendOf = new Map<string, number>();
  readonly #events = new EventQueue();
  readonly #log = new RequestLog();
  readonly #response: Response = { code: SUCCESS, status: 0, latencyMs: 0 };

  constructor(scenario: Scenario) {
    if (typeof scenario !== "object" || scenario === null) {
      throw new InvalidConfigError("scenario", `simulate() needs a scenario object, got ${show(scenario)}`);
    }
    const seed = scenario.seed ?? 1;
    if (!(typeof seed === "number" && Number.isFinite(seed))) {
      throw new InvalidConfigError("seed", `must be a finite number, got ${show(seed)}`);
    }
    const durationMs = positive("durationMs", scenario.durationMs);
    const rate = positive("ratePerSecond", scenario.ratePerSecond);
    if ((rate * durationMs) / 1000 > MAX_REQUESTS) {
      throw new InvalidConfigError(
        "ratePerSecond",
        `${rate}/s for ${durationMs} ms is more than ${MAX_REQUESTS} requests: shorten the run or lower the rate`,
      );
    }
    const spacing = scenario.arrivals ?? "poisson";
    if (spacing !== "poisson" && spacing !== "fixed") {
      throw new InvalidConfigError("arrivals", `must be "poisson" or "fixed", got ${show(spacing)}`);
    }
    const timeoutMs = scenario.timeoutMs ?? Number.POSITIVE_INFINITY;
    if (!(typeof timeoutMs === "number" && timeoutMs > 0)) {
      throw new InvalidConfigError("timeoutMs", `must be a number of ms > 0 (or Infinity), got ${show(timeoutMs)}`);
    }
    const bucketMs = positive("bucketMs", scenario.bucketMs ?? 1000);
    if (durationMs / bucketMs > 1_000_000) {
      throw new InvalidConfigError("bucketMs", `${bucketMs} ms makes more than 10^6 buckets of ${durationMs} ms`);
    }
    const specs = checkBackends(scenario.backends);
    const options = upstreamOptionsOf(scenario.upstream);
    // Each stream its own seed, drawn from the scenario's: changing one backend leaves the others' draws alone.
    const seeds = new SeededRandom(seed);
    const upstreamRandom = new SeededRandom(seeds.nextUint32());
    this.#arrivals = new Arrivals(rate, durationMs, spacing, new SeededRandom(seeds.nextUint32()));
    this.#backends = specs.map((spec, i) => new BackendModel(spec, i, new SeededRandom(seeds.nextUint32())));
    this.#backends.forEach((b, i) => {
      if (this.#backendOf.has(b.id)) {
        throw new InvalidConfigError(`backends[${i}].endpoint`, `${show(b.id)} is the id of another backend`);
      }
      this.#backendOf.set(b.id, i);
    });
    this.#seed = seed;
    this.#durationMs = durationMs;
    this.#bucketMs = bucketMs;
    this.#timeoutMs = timeoutMs;
    const resolver = new ManualResolver("simulator");
    resolver.push(this.#backends.map((b) => b.endpoint));
    try {
      this.upstream = createUpstream({
        name: "simulated",
        ...options,
        resolver,
        clock: this.#clock,
        random: upstreamRandom,
      });
    } catch (e) {
      // createUpstream() names its own option ("balancer"): name it as the scenario has it.
      if (!(e instanceof InvalidConfigError)) throw e;
      throw new InvalidConfigError(`upstream.${e.option}`, e.message.slice(e.option.length + 2));
    }
  }

  /** The event loop: the earlier of the next arrival and the next end, until neither is left. */
  run(): void {
    const arrivals = this.#arrivals;
    const events = this.#events;
    for (;;) {
      const endAt = events.peekTime();
      const arriveAt = arrivals.time;
      if (endAt === Number.POSITIVE_INFINITY && arriveAt === Number.POSITIVE_INFINITY) return;
      if (endAt <= arriveAt) {
        this.#clock.advanceTo(endAt);
        this.#end(events.pop());
      } else {
        this.#clock.advanceTo(arriveAt);
        arrivals.advance();
        this.#arrive(arriveAt);
      }
    }
  }

  report(): SimulationReport {
    return buildReport(this.#log, {
      seed: this.#seed,
      durationMs: this.#durationMs,
      bucketMs: this.#bucketMs,
      endedAtMs: this.#clock.now(),
      backendIds: this.#backends.map((b) => b.id),
      upstream: this.upstream.snapshot(),
    });
  }

  #arrive(time: number): void {
    const log = this.#log;
    const id = log.add(time);
    let token: number;
    try {
      token = this.upstream.begin();
    } catch (e) {
      if (!isRefusal(e)) throw e;
      log.ending[id] = UNAVAILABLE;
      log.status[id] = 0;
      return;
    }
    const endpoint = this.upstream.endpointOf(token);
    const b = endpoint === undefined ? undefined : this.#backendOf.get(endpoint.id);
    if (b === undefined) throw new Error(`the simulated upstream picked ${show(endpoint?.id)}, which is no backend`);
    const response = this.#response;
    (this.#backends[b] as BackendModel).respond(time, response);
    let latency = response.latencyMs;
    let ending = response.code;
    if (latency > this.#timeoutMs) {
      latency = this.#timeoutMs;
      ending = TIMEOUT;
    }
    log.token[id] = token;
    log.backend[id] = b;
    log.ending[id] = ending;
    log.status[id] = ending === SUCCESS || ending === FAILED_STATUS ? response.status : 0;
    log.latency[id] = latency;
    this.#events.push(time + latency, id);
  }

  #end(id: number): void {
    const log = this.#log;
    this.upstream.end(
      log.token[id] as number,
      outcomeOf(log.ending[id] as number, log.status[id] as number, log.latency[id] as number),
    );
  }
}

/** What the client tells the upstream about a request that ended. */
function outcomeOf(ending: number, status: number, latencyMs: number): Outcome {
  switch (ending) {
    case CONNECT:
      return { failure: "connect", latencyMs };
    case RESET:
      return { failure: "reset", latencyMs };
    case TIMEOUT:
      return { failure: "timeout", latencyMs };
    default:
      return { status, latencyMs };
  }
}

function positive(option: string, value: unknown): number {
  if (!(typeof value === "number" && Number.isFinite(value) && value > 0)) {
    throw new InvalidConfigError(option, `must be a finite number > 0, got ${show(value)}`);
  }
  return value;
}

/** The scenario's upstream options (calling a factory), checked for what the simulator supplies itself. */
function upstreamOptionsOf(upstream: Scenario["upstream"]): SimulatedUpstreamOptions {
  const options = typeof upstream === "function" ? upstream() : (upstream ?? {});
  if (typeof options !== "object" || options === null) {
    throw new InvalidConfigError(
      "upstream",
      `must be upstream options or a function returning them, got ${show(options)}`,
    );
  }
  for (const own of ["resolver", "clock", "random"] as const) {
    if (own in options && (options as Record<string, unknown>)[own] !== undefined) {
      throw new InvalidConfigError(`upstream.${own}`, "is the simulator's own: leave it out");
    }
  }
  return options;
}

/** An error `begin()` throws when it sends nothing: nothing eligible, or a plug-in refused admission. */
function isRefusal(e: unknown): boolean {
  return e instanceof NoEndpointsError || e instanceof CircuitOpenError || e instanceof ConcurrencyLimitError;
}
