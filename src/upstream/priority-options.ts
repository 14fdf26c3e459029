import { InvalidConfigError, show } from "../errors.js";
import type { ZoneLoad, ZoneRouting } from "./zone-loads.js";

/** How traffic spreads over priority levels (Envoy's priority load). */
export interface PriorityOptions {
  /**
   * A level keeps all its traffic while healthy/total × factor ≥ 1 (Envoy
   * overprovisioning factor; default 1.4: a level keeps everything down to
   * ~71.4% healthy, and spills the rest to the next level).
   */
  overprovisioningFactor?: number;
  /**
   * Percent of a level's endpoints that must be healthy; below it, when the
   * levels together are not healthy enough, the level ignores health and uses
   * all its endpoints rather than fail everything (Envoy panic threshold,
   * default 50; 0 disables panic: unhealthy endpoints then never take traffic).
   */
  panicThreshold?: number;
}

/** One priority level's figures, as `snapshot()` reports them. */
export interface PriorityLevel {
  /** The priority value (lower takes traffic first). */
  readonly priority: number;
  /** Endpoints in the level with weight > 0. */
  readonly total: number;
  /** How many of them are healthy. */
  readonly healthy: number;
  /** Whole percent of traffic this level takes, 0..100 (Envoy computes loads in whole percents). */
  readonly load: number;
  /** True when the level ignores health (panic mode). */
  readonly panic: boolean;
  /** With zone affinity (`UpstreamOptions.zone`): how the level routes by zone now. Absent without it. */
  readonly zoneRouting?: ZoneRouting;
  /** With zone affinity: the level's zones, the caller's first, with their loads. Absent without it. */
  readonly zones?: readonly ZoneLoad[];
}

/** Validates and fills in `PriorityOptions`. */
export function priorityOptions(options: PriorityOptions = {}): Required<PriorityOptions> {
  const overprovisioningFactor = options.overprovisioningFactor ?? 1.4;
  const panicThreshold = options.panicThreshold ?? 50;
  if (!(Number.isFinite(overprovisioningFactor) && overprovisioningFactor >= 1)) {
    throw new InvalidConfigError(
      "priority.overprovisioningFactor",
      `must be a number >= 1, got ${show(overprovisioningFactor)}`,
    );
  }
  if (!(Number.isFinite(panicThreshold) && panicThreshold >= 0 && panicThreshold <= 100)) {
    throw new InvalidConfigError(
      "priority.panicThreshold",
      `must be a percentage in 0..100, got ${show(panicThreshold)}`,
    );
  }
  return { overprovisioningFactor, panicThreshold };
}
