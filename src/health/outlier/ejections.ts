import { grown } from "../../upstream/table.js";
import type { OutlierConfig } from "./options.js";

/**
 * Ejection bookkeeping of outlier detection, per endpoint in typed arrays
 * indexed by slot: which detector ejected it and when, how many times, the
 * ejection-time multiplier and its decay, and Envoy's `max_ejection_percent`
 * rule over the whole set. @internal
 */
export class EjectionBook {
  /** The ejection type code (detectors.ts) that ejected the slot; 0 while it is not ejected. */
  type = new Uint8Array(0);
  /** Clock time of the slot's last ejection; NaN before the first. */
  ejectedAt = new Float64Array(0);
  /** Clock time of the slot's last return; NaN before the first. */
  returnedAt = new Float64Array(0);
  /** The ejection time multiplier (Envoy's `eject_time_backoff`): up by one per ejection, down by one per healthy interval. */
  multiplier = new Uint32Array(0);
  /** Ejections since the endpoint joined (Envoy's `num_ejections`). */
  times = new Uint32Array(0);
  /** The jitter drawn for the slot's current ejection, ms. */
  jitter = new Float64Array(0);
  /** Endpoints in the set. */
  hosts = 0;
  /** Endpoints ejected now (Envoy's `ejections_active`). */
  active = 0;

  /** Makes room for slots up to `capacity - 1`, keeping what is there. */
  grow(capacity: number): void {
    if (capacity <= this.type.length) return;
    this.type = grown(this.type, capacity);
    this.ejectedAt = grown(this.ejectedAt, capacity);
    this.returnedAt = grown(this.returnedAt, capacity);
    this.multiplier = grown(this.multiplier, capacity);
    this.times = grown(this.times, capacity);
    this.jitter = grown(this.jitter, capacity);
  }

  /** A newcomer: not ejected, never ejected. */
  join(slot: number): void {
    this.type[slot] = 0;
    this.ejectedAt[slot] = Number.NaN;
    this.returnedAt[slot] = Number.NaN;
    this.multiplier[slot] = 0;
    this.times[slot] = 0;
    this.jitter[slot] = 0;
    this.hosts++;
  }

  /** An endpoint left: it no longer counts, ejected or not. */
  leave(slot: number): void {
    if (this.type[slot] !== 0) this.active--;
    this.type[slot] = 0;
    this.hosts--;
  }

  /**
   * Whether one more endpoint may be ejected: Envoy's rule, the percent
   * ejected counting this one at most `maxEjectionPercent`, or none ejected
   * yet when `alwaysEjectOneHost`.
   */
  allows(config: OutlierConfig): boolean {
    if ((this.active + 1) * 100 <= config.maxEjectionPercent * this.hosts) return true;
    return config.alwaysEjectOneHost && this.active === 0;
  }

  /**
   * Ejects `slot` for `type` at `now`. The multiplier grows by one while
   * base × multiplier is below max + base (Envoy's bound: it stops one step
   * past the cap, so a host at the cap stays there for one more healthy
   * interval of decay).
   */
  eject(slot: number, type: number, now: number, jitter: number, config: OutlierConfig): void {
    this.type[slot] = type;
    this.ejectedAt[slot] = now;
    this.jitter[slot] = jitter;
    this.times[slot] = (this.times[slot] as number) + 1;
    this.active++;
    const m = this.multiplier[slot] as number;
    if (m * config.baseEjectionTimeMs < config.maxEjectionTimeMs + config.baseEjectionTimeMs)
      this.multiplier[slot] = m + 1;
  }

  /** The current ejection's length: min(base × multiplier, max) + jitter, ms. */
  ejectionTime(slot: number, config: OutlierConfig): number {
    const m = this.multiplier[slot] as number;
    return Math.min(config.baseEjectionTimeMs * m, config.maxEjectionTimeMs) + (this.jitter[slot] as number);
  }

  /** Whether an ejected slot's ejection time is up at `now`. */
  due(slot: number, now: number, config: OutlierConfig): boolean {
    return this.ejectionTime(slot, config) <= now - (this.ejectedAt[slot] as number);
  }

  /** Lets `slot` back in at `now`. */
  restore(slot: number, now: number): void {
    this.type[slot] = 0;
    this.returnedAt[slot] = now;
    this.active--;
  }

  /**
   * Envoy's decay, once per sweep: an endpoint not ejected that came back at
   * least one interval ago has its multiplier lowered by one (never below 0).
   */
  decay(slot: number, now: number, config: OutlierConfig): void {
    if (this.type[slot] !== 0) return;
    const m = this.multiplier[slot] as number;
    if (m > 0 && now - (this.returnedAt[slot] as number) >= config.intervalMs) this.multiplier[slot] = m - 1;
  }
}
