import type { WritableNumbers } from "./priority-loads.js";

/**
 * How a priority level routes by zone under zone affinity:
 * - `"off"`: zones are ignored; the level's balancer spreads over every zone;
 * - `"direct"`: every pick stays in the caller's zone;
 * - `"spill"`: part of the picks stay in the caller's zone, the rest go to
 *   the other zones in proportion to their spare capacity.
 */
export type ZoneRouting = "off" | "direct" | "spill";

/** The zone-affinity options `computeZoneLoads` reads. */
export interface ZoneLoadOptions {
  readonly minClusterSize: number;
  readonly overprovisioningFactor: number;
}

/**
 * Zone affinity's split of one priority level's traffic across its zones,
 * after Envoy's zone-aware routing (`regenerateLocalityRoutingStructures`
 * and `tryChooseLocalLocalityHosts` in Envoy's load_balancer_impl.cc, read
 * at envoyproxy/envoy e01a970ac688), in exact reals.
 *
 * Zones are indexed from 0; zone 0 is the caller's (local) zone when
 * `hasLocal`. `healthy[z]` counts zone z's healthy endpoints in the level;
 * `callers[z]` is the caller fleet's share in zone z, in the unit of
 * `callerTotal`, the sum over every zone the callers run in. With H the
 * level's healthy endpoints, zone z's upstream share is u_z = healthy[z] / H
 * and its caller share c_z = callers[z] / callerTotal.
 *
 * 1. `"off"` (every load 0; the level's own picker serves) when the level
 *    is in panic, has no local zone or fewer than two zones, has fewer than
 *    `minClusterSize` healthy endpoints, or none healthy in the local zone.
 * 2. `"direct"` (load 1 for the local zone) when f × u_0 ≥ c_0, with f the
 *    overprovisioning factor (Envoy: f = 1, "the upstream's local share
 *    covers the callers'").
 * 3. `"spill"` otherwise: the local zone keeps f × u_0 / c_0 of the
 *    traffic; the rest goes to each other zone in proportion to its residual
 *    capacity max(0, u_z − c_z) (Envoy's `residual_capacity`), or, should
 *    every residual be 0, in proportion to its healthy endpoints.
 *
 * Where it differs from Envoy: shares are exact reals (Envoy truncates them
 * to 1/10,000); the factor is switchyard's (Envoy has none); each priority
 * level is routed by its own zones (Envoy routes P=0 only); Envoy also turns
 * routing off when the *caller* cluster is in panic, which an upstream
 * cannot see.
 *
 * Writes `load[z]` (fractions summing to 1, or all 0 for `"off"`), runs in
 * O(zones), allocates nothing, and returns the routing.
 */
export function computeZoneLoads(
  healthy: ArrayLike<number>,
  callers: ArrayLike<number>,
  callerTotal: number,
  hasLocal: boolean,
  panic: boolean,
  options: ZoneLoadOptions,
  load: WritableNumbers,
): ZoneRouting {
  const n = healthy.length;
  let levelHealthy = 0;
  for (let z = 0; z < n; z++) {
    load[z] = 0;
    levelHealthy += healthy[z] as number;
  }
  const localHealthy = healthy[0] as number;
  if (panic || !hasLocal || n < 2 || levelHealthy < options.minClusterSize || !(localHealthy > 0)) return "off";
  const localCallers = callers[0] as number;
  // f × u_0 / c_0, as one quotient of products (exact for whole counts).
  const kept =
    localCallers > 0
      ? (options.overprovisioningFactor * localHealthy * callerTotal) / (levelHealthy * localCallers)
      : Number.POSITIVE_INFINITY;
  if (kept >= 1) {
    load[0] = 1;
    return "direct";
  }
  // Residual capacity of zone z, × H × callerTotal (a common factor): healthy × callerTotal − callers × H.
  let residual = 0;
  for (let z = 1; z < n; z++) {
    const r = (healthy[z] as number) * callerTotal - (callers[z] as number) * levelHealthy;
    if (r > 0) {
      load[z] = r;
      residual += r;
    }
  }
  if (!(residual > 0)) {
    for (let z = 1; z < n; z++) {
      load[z] = healthy[z] as number;
      residual += healthy[z] as number;
    }
  }
  const spilled = 1 - kept;
  load[0] = kept;
  for (let z = 1; z < n; z++) load[z] = (spilled * (load[z] as number)) / residual;
  return "spill";
}

/** One zone of a priority level, as `snapshot().levels[i].zones` reports it (with zone affinity on). */
export interface ZoneLoad {
  /** The zone (`Endpoint.zone`); `undefined` groups the endpoints that have none. The caller's zone comes first. */
  readonly zone: string | undefined;
  /** Endpoints of the level in this zone. */
  readonly total: number;
  /** How many of them are healthy. */
  readonly healthy: number;
  /**
   * Percent of the level's picks that zone affinity sends to this zone (a
   * real number, 0..100); `undefined` while the level's routing is `"off"`
   * (the balancer then spreads over every zone by weight).
   */
  readonly load: number | undefined;
}
