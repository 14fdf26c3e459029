import type { Host } from "../../balancer.js";
import type { Timer } from "../../clock.js";
import type { Outcome } from "../../outcome.js";
import type { PluginContext, UpstreamPlugin } from "../../upstream/plugin.js";
import { attachOnce } from "../../upstream/plugin.js";
import type { OutlierEjectionType, SuccessRateStats, SweepResult } from "./detectors.js";
import {
  CONSECUTIVE_5XX,
  CONSECUTIVE_GATEWAY_FAILURE,
  CONSECUTIVE_LOCAL_ORIGIN_FAILURE,
  DetectorCounters,
  EJECTION_TYPES,
  sweep,
  TRIPPED_5XX,
  TRIPPED_GATEWAY,
  TRIPPED_LOCAL_ORIGIN,
} from "./detectors.js";
import { EjectionBook } from "./ejections.js";
import type { OutlierConfig, OutlierDetectionOptions } from "./options.js";
import { outlierConfig } from "./options.js";

/** Counts by ejection type. */
export type OutlierCounts = Record<OutlierEjectionType, number>;

/** `snapshot().plugins[name]` of `outlierDetection()` (Envoy's `outlier_detection.*` stats). Plain data. */
export interface OutlierDetectionState {
  /** Endpoints in the set. */
  readonly hosts: number;
  /** Endpoints ejected now (`ejections_active`). */
  readonly ejected: number;
  /** Outliers found, by detector, enforced or not (`ejections_detected_*`). */
  readonly detected: OutlierCounts;
  /** Outliers ejected, by detector (`ejections_enforced_*`). */
  readonly enforced: OutlierCounts;
  /** Outliers left in because `maxEjectionPercent` was reached (`ejections_overflow`). */
  readonly overflow: number;
  /** The last sweep's success-rate mean and threshold (percent), when it ran. */
  readonly successRate?: SuccessRateStats;
  /** Same for local-origin success rate, when split. */
  readonly localOriginSuccessRate?: SuccessRateStats;
}

/** `snapshot().endpoints[i].plugins[name]` of `outlierDetection()`. Plain data. */
export interface OutlierEndpointState {
  /** Whether outlier detection has the endpoint ejected now. */
  readonly ejected: boolean;
  /** While ejected: the detector that ejected it. */
  readonly ejectedBy?: OutlierEjectionType;
  /** While ejected: the clock time it was ejected. */
  readonly ejectedAt?: number;
  /** While ejected: the clock time its ejection time is up; it returns at the first sweep from then on. */
  readonly until?: number;
  /** Ejections since the endpoint joined. */
  readonly timesEjected: number;
  /** The ejection-time multiplier: the next ejection lasts min(base × (multiplier + 1), max). */
  readonly multiplier: number;
  /** 5xx answers (and, unless split, local-origin failures) in a row. */
  readonly consecutive5xx: number;
  /** 502/503/504 answers (and, unless split, local-origin failures) in a row. */
  readonly consecutiveGatewayFailure: number;
  /** Local-origin failures in a row (split only). */
  readonly consecutiveLocalOriginFailure: number;
  /** Its success rate in the last sweep (percent), when it had the volume for a detector. */
  readonly successRate?: number;
  /** Same for its local-origin success rate, when split. */
  readonly localOriginSuccessRate?: number;
}

/** The plug-in `outlierDetection()` makes. */
export interface OutlierDetectionPlugin extends UpstreamPlugin {
  /** `snapshot().plugins[name]`: ejections now, detections and ejections by detector, the last success-rate sweep. */
  describe(): OutlierDetectionState;
  /** `snapshot().endpoints[i].plugins[name]`: the endpoint's ejection, counters and success rate. */
  describeEndpoint(host: Host): OutlierEndpointState | undefined;
}

/**
 * Envoy's outlier detection as a health plug-in: consecutive 5xx,
 * consecutive gateway failures, consecutive local-origin failures (inline,
 * on each outcome), and success rate and failure percentage (once per
 * `intervalMs`), with Envoy's defaults. An outlier is ejected if
 * `maxEjectionPercent` allows (one always may be, unless
 * `alwaysEjectOneHost: false`) and its detector's `enforcing*` percentage,
 * drawn with the upstream's `Random`, says so. The ejection lasts
 * min(base × multiplier, max) (+ jitter): the multiplier grows by one per
 * ejection and drops by one per sweep the endpoint spends in traffic.
 *
 * One timer for the plug-in: the sweep every `intervalMs`, which also lets
 * endpoints back in (as Envoy does: an ejection ends at the first sweep
 * after its time is up). Counters are per endpoint in typed arrays; an
 * outcome costs O(1) and allocates nothing. An endpoint that leaves drops
 * its state; one that comes back starts fresh.
 *
 * @example
 * const upstream = createUpstream({
 *   name: "api",
 *   resolver: staticResolver(["http://10.0.0.1:8080", "http://10.0.0.2:8080", "http://10.0.0.3:8080"]),
 *   plugins: [outlierDetection({ consecutive5xx: 3, baseEjectionTimeMs: 10_000 })],
 * });
 * @throws InvalidConfigError naming the option that is invalid.
 */
export function outlierDetection(options?: OutlierDetectionOptions): OutlierDetectionPlugin {
  return new OutlierDetection(outlierConfig(options));
}

class OutlierDetection implements OutlierDetectionPlugin {
  readonly name: string;
  readonly #config: OutlierConfig;
  #ctx: PluginContext | undefined;
  readonly #counters = new DetectorCounters();
  readonly #book = new EjectionBook();
  /** Each slot's host while its endpoint is in the set. */
  readonly #hosts: (Host | undefined)[] = [];
  /** Outliers found and ejected, by ejection type code. */
  readonly #detected = new Float64Array(EJECTION_TYPES.length);
  readonly #enforced = new Float64Array(EJECTION_TYPES.length);
  #overflow = 0;
  #successRate: SuccessRateStats | undefined;
  #localSuccessRate: SuccessRateStats | undefined;
  #timer: Timer | undefined;
  #closed = false;

  constructor(config: OutlierConfig) {
    this.name = config.name;
    this.#config = config;
  }

  attach(context: PluginContext): void {
    attachOnce(this, this.#ctx);
    this.#ctx = context;
    this.#timer = context.clock.setTimer(this.#sweep, this.#config.intervalMs);
  }

  onJoin(host: Host): void {
    const slot = host.slot;
    if (slot >= this.#book.type.length) {
      const capacity = (this.#ctx as PluginContext).table.capacity;
      this.#counters.grow(capacity);
      this.#book.grow(capacity);
    }
    this.#counters.reset(slot);
    this.#book.join(slot);
    this.#hosts[slot] = host;
  }

  onLeave(host: Host): void {
    this.#book.leave(host.slot);
    this.#hosts[host.slot] = undefined;
  }

  onOutcome(host: Host, outcome: Outcome): void {
    const tripped = this.#counters.record(host.slot, outcome, this.#config);
    if (tripped !== 0) this.#tripped(host, tripped);
  }

  describe(): OutlierDetectionState {
    return {
      hosts: this.#book.hosts,
      ejected: this.#book.active,
      detected: counts(this.#detected),
      enforced: counts(this.#enforced),
      overflow: this.#overflow,
      ...(this.#successRate === undefined ? {} : { successRate: this.#successRate }),
      ...(this.#localSuccessRate === undefined ? {} : { localOriginSuccessRate: this.#localSuccessRate }),
    };
  }

  describeEndpoint(host: Host): OutlierEndpointState | undefined {
    const slot = host.slot;
    if (this.#hosts[slot] !== host) return undefined;
    const book = this.#book;
    const c = this.#counters;
    const type = book.type[slot] as number;
    const ejectedAt = book.ejectedAt[slot] as number;
    const rate = c.successRate[slot] as number;
    const localRate = c.localSuccessRate[slot] as number;
    return {
      ejected: type !== 0,
      ...(type === 0
        ? {}
        : {
            ejectedBy: EJECTION_TYPES[type] as OutlierEjectionType,
            ejectedAt,
            until: ejectedAt + book.ejectionTime(slot, this.#config),
          }),
      timesEjected: book.times[slot] as number,
      multiplier: book.multiplier[slot] as number,
      consecutive5xx: c.consecutive5xx[slot] as number,
      consecutiveGatewayFailure: c.consecutiveGatewayFailure[slot] as number,
      consecutiveLocalOriginFailure: c.consecutiveLocalOriginFailure[slot] as number,
      ...(Number.isNaN(rate) ? {} : { successRate: rate }),
      ...(Number.isNaN(localRate) ? {} : { localOriginSuccessRate: localRate }),
    };
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** A consecutive detector reached its threshold (rare: off the hot path). Gateway first, as Envoy reports it. */
  #tripped(host: Host, tripped: number): void {
    if ((tripped & TRIPPED_GATEWAY) !== 0) this.#consecutive(host, CONSECUTIVE_GATEWAY_FAILURE);
    if ((tripped & TRIPPED_5XX) !== 0) this.#consecutive(host, CONSECUTIVE_5XX);
    if ((tripped & TRIPPED_LOCAL_ORIGIN) !== 0) this.#consecutive(host, CONSECUTIVE_LOCAL_ORIGIN_FAILURE);
  }

  /**
   * Envoy's `onConsecutiveErrorWorker`: an endpoint already ejected is left
   * alone (its count goes on, and is cleared when it returns); otherwise the
   * outlier is ejected if allowed and enforced, and its count starts again
   * either way.
   */
  #consecutive(host: Host, type: number): void {
    const slot = host.slot;
    if (this.#book.type[slot] !== 0) return;
    this.#outlier(host, type, (this.#ctx as PluginContext).clock.now());
    const c = this.#counters;
    if (type === CONSECUTIVE_5XX) c.consecutive5xx[slot] = 0;
    else if (type === CONSECUTIVE_GATEWAY_FAILURE) c.consecutiveGatewayFailure[slot] = 0;
    else c.consecutiveLocalOriginFailure[slot] = 0;
  }

  /**
   * Envoy's `ejectHost`: counts the detection; ejects when
   * `maxEjectionPercent` allows (else counts an overflow) and the detector's
   * enforcing percentage draws true (no draw at 0 or 100).
   */
  #outlier(host: Host, type: number, now: number): void {
    const ctx = this.#ctx as PluginContext;
    const config = this.#config;
    this.#detected[type] = (this.#detected[type] as number) + 1;
    if (!this.#book.allows(config)) {
      this.#overflow++;
      return;
    }
    const enforcing = config.enforcing[type] as number;
    if (enforcing < 100 && !(enforcing > 0 && ctx.random.next() * 100 < enforcing)) return;
    const maxJitter = config.maxEjectionTimeJitterMs;
    const jitter = maxJitter > 0 ? Math.floor(ctx.random.next() * (maxJitter + 1)) : 0;
    this.#book.eject(host.slot, type, now, jitter, config);
    this.#enforced[type] = (this.#enforced[type] as number) + 1;
    ctx.eject(host, true);
  }

  /**
   * Envoy's `onIntervalTimer`: endpoints whose ejection time is up return
   * (their consecutive counts cleared); success rate and failure percentage
   * run over the interval's counts, for answers and then, when split, for
   * connections; multipliers decay; the counts start a new interval.
   */
  readonly #sweep = (): void => {
    this.#timer = undefined;
    if (this.#closed) return;
    const ctx = this.#ctx as PluginContext;
    const config = this.#config;
    const book = this.#book;
    const c = this.#counters;
    const now = ctx.clock.now();
    const hosts = ctx.hosts();
    for (const host of hosts) {
      const slot = host.slot;
      if (book.type[slot] === 0 || !book.due(slot, now, config)) continue;
      book.restore(slot, now);
      c.resetConsecutive(slot);
      ctx.eject(host, false);
    }
    const external = sweep(hosts, c.requests, c.successes, c.successRate, book.type, config, false);
    this.#successRate = external.successRate;
    this.#ejectOutliers(external, now);
    if (config.splitExternalLocalOriginErrors) {
      const local = sweep(hosts, c.localRequests, c.localSuccesses, c.localSuccessRate, book.type, config, true);
      this.#localSuccessRate = local.successRate;
      this.#ejectOutliers(local, now);
    }
    for (const host of hosts) book.decay(host.slot, now, config);
    c.newInterval();
    this.#timer = ctx.clock.setTimer(this.#sweep, config.intervalMs);
  };

  #ejectOutliers(result: SweepResult, now: number): void {
    for (const o of result.outliers) {
      if (this.#book.type[o.host.slot] === 0) this.#outlier(o.host, o.type, now);
    }
  }
}

function counts(byType: Float64Array): OutlierCounts {
  const out = {} as Record<OutlierEjectionType, number>;
  for (let t = 1; t < EJECTION_TYPES.length; t++) out[EJECTION_TYPES[t] as OutlierEjectionType] = byType[t] as number;
  return out;
}
