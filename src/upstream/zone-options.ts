import { InvalidConfigError, show } from "../errors.js";

/**
 * Zone affinity (Envoy's zone-aware routing, simplified): within each
 * priority level, keep traffic in the caller's zone while that zone's
 * healthy endpoints cover its callers, and spill the rest to the other zones
 * in proportion to their spare capacity. See docs/balancing.md, "Zone
 * affinity".
 */
export interface ZoneOptions {
  /** The caller's zone (Envoy `--service-zone`), compared with each `Endpoint.zone`. A non-empty string. */
  local: string;
  /**
   * A level with fewer healthy endpoints than this ignores zones (Envoy
   * `min_cluster_size`, default 6): an integer ≥ 0.
   */
  minClusterSize?: number;
  /**
   * How far the local zone may fall short of its callers' share before it
   * spills (default 1: Envoy's rule). The zone keeps all its traffic while
   * factor × its share of the level's healthy endpoints ≥ its callers'
   * share, and keeps factor × that ratio of it below; so 1.25 keeps every
   * request in zone down to 80% of its fair share. A finite number ≥ 1.
   */
  overprovisioningFactor?: number;
  /**
   * How the calling fleet is spread over zones (Envoy reads it from the
   * local cluster): zone → a number ≥ 0, in any unit (instance counts,
   * percents); the local zone's must be > 0. Default: callers are assumed
   * spread as the level's own endpoints are (its endpoint count per zone,
   * healthy or not).
   */
  callerShares?: Readonly<Record<string, number>>;
}

/** `ZoneOptions` validated, with every default filled in. */
export interface ResolvedZoneOptions {
  readonly local: string;
  readonly minClusterSize: number;
  readonly overprovisioningFactor: number;
  /** The caller shares by zone, or undefined: spread as each level's endpoints. */
  readonly callerShares: ReadonlyMap<string, number> | undefined;
  /** The sum of every caller share (zones the upstream lacks included). */
  readonly callerTotal: number;
}

/**
 * Validates `UpstreamOptions.zone` and fills in its defaults; `undefined`
 * stays `undefined` (no zone affinity). Throws `InvalidConfigError` naming
 * the option.
 */
export function zoneOptions(options: unknown): ResolvedZoneOptions | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null) {
    throw new InvalidConfigError("zone", `must be an object ({ local, minClusterSize?, ... }), got ${show(options)}`);
  }
  const { local, minClusterSize = 6, overprovisioningFactor = 1, callerShares } = options as Partial<ZoneOptions>;
  if (typeof local !== "string" || local === "") {
    throw new InvalidConfigError("zone.local", `must be the caller's zone, a non-empty string, got ${show(local)}`);
  }
  if (!(Number.isSafeInteger(minClusterSize) && minClusterSize >= 0)) {
    throw new InvalidConfigError("zone.minClusterSize", `must be an integer >= 0, got ${show(minClusterSize)}`);
  }
  if (
    !(typeof overprovisioningFactor === "number" && Number.isFinite(overprovisioningFactor)) ||
    overprovisioningFactor < 1
  ) {
    throw new InvalidConfigError(
      "zone.overprovisioningFactor",
      `must be a finite number >= 1, got ${show(overprovisioningFactor)}`,
    );
  }
  if (callerShares === undefined) {
    return { local, minClusterSize, overprovisioningFactor, callerShares: undefined, callerTotal: 0 };
  }
  if (typeof callerShares !== "object" || callerShares === null || Array.isArray(callerShares)) {
    throw new InvalidConfigError("zone.callerShares", `must be an object of zone → share, got ${show(callerShares)}`);
  }
  const shares = new Map<string, number>();
  let total = 0;
  for (const [zone, share] of Object.entries(callerShares)) {
    if (!(typeof share === "number" && Number.isFinite(share) && share >= 0)) {
      throw new InvalidConfigError(`zone.callerShares.${zone}`, `must be a finite number >= 0, got ${show(share)}`);
    }
    shares.set(zone, share);
    total += share;
  }
  if (!((shares.get(local) ?? 0) > 0)) {
    throw new InvalidConfigError(
      "zone.callerShares",
      `must give the local zone ${show(local)} a share > 0 (callers run there), got ${show(shares.get(local))}`,
    );
  }
  return { local, minClusterSize, overprovisioningFactor, callerShares: shares, callerTotal: total };
}
