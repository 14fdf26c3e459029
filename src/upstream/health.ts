import type { Endpoint } from "../endpoint.js";
import type { UpstreamPlugin } from "./plugin.js";
import type { EndpointOverride, ErrorSummary } from "./snapshot.js";
import type { EndpointTable } from "./table.js";

/**
 * An endpoint's health in `Upstream.health()`, Kong's words for a target
 * (`GET /upstreams/{name}/health`), first match wins:
 * - `DRAINED`: weight 0; takes no traffic, is not health-checked.
 * - `UNHEALTHY`: ejected by a plug-in or forced down by an override; takes
 *   no traffic outside panic.
 * - `DNS_ERROR`: the resolver's last refresh failed (any resolver, not only
 *   DNS: Kong's word); the endpoint is from the last good set and still takes
 *   traffic.
 * - `HEALTHCHECKS_OFF`: no plug-in of the upstream watches endpoints (none
 *   has `onJoin` or `onOutcome`: a concurrency limit alone is not a health
 *   check); takes traffic.
 * - `HEALTHY`: takes traffic, and some plug-in watches it.
 */
export type HealthStatus = "HEALTHY" | "UNHEALTHY" | "DNS_ERROR" | "HEALTHCHECKS_OFF" | "DRAINED";

/** Why an endpoint is UNHEALTHY: a plug-in's ejection (with its view of the endpoint), or the operator's override. */
export interface HealthReason {
  /** The ejecting plug-in's name, or `"override"` for `override(id, "down")`. */
  readonly source: string;
  /** The plug-in's `describeEndpoint()` (its counters, its own times), when it has one. */
  readonly detail?: unknown;
}

/** One endpoint in `Upstream.health()`: plain data. */
export interface EndpointHealthReport {
  /** The endpoint's id, e.g. `"10.0.0.1:8080"` (Kong's `ip`:`port`). */
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly weight: number;
  readonly priority: number;
  readonly health: HealthStatus;
  /** Whether it takes traffic outside panic (weight > 0, not ejected, not forced down). */
  readonly available: boolean;
  /** How long it has been available, or not, in ms: since it joined, or since its eligibility last changed. */
  readonly forMs: number;
  /** The operator override in force, if any. */
  readonly override: EndpointOverride | undefined;
  /** Why it is not available (empty when it is): each ejecting plug-in, in plug-in order, then the override. */
  readonly reasons: readonly HealthReason[];
}

/** The upstream's own health: Kong's `healthchecks.threshold` rule. */
export type UpstreamHealthStatus = "HEALTHY" | "UNHEALTHY";

/** Kong's `data.weight`: total weight, and the part that can take traffic outside panic. */
export interface HealthWeight {
  readonly total: number;
  readonly available: number;
  readonly unavailable: number;
}

/**
 * `Upstream.health()`: Kong's `GET /upstreams/{name}/health`, in-process and
 * JSON-safe.
 */
export interface UpstreamHealth {
  readonly name: string;
  /** HEALTHY while some weight is available and at least `threshold` percent of the total. */
  readonly health: UpstreamHealthStatus;
  /** The upstream's `healthThreshold` (percent). */
  readonly threshold: number;
  readonly weight: HealthWeight;
  /** The resolver, and its last error until its next successful refresh. */
  readonly resolver: { readonly name: string; readonly lastError: ErrorSummary | undefined };
  /** Every endpoint in the set, sorted by id. */
  readonly endpoints: readonly EndpointHealthReport[];
}

/** The upstream's `health` event: its health changed (see `UpstreamHealth.health`). */
export interface UpstreamHealthChange {
  readonly health: UpstreamHealthStatus;
  readonly threshold: number;
  readonly weight: HealthWeight;
}

/** Kong's rule: healthy while some weight is available and at least `threshold` percent of the total. @internal */
export function upstreamHealth(available: number, total: number, threshold: number): UpstreamHealthStatus {
  return available > 0 && available * 100 >= threshold * total ? "HEALTHY" : "UNHEALTHY";
}

/** One endpoint's health report, read from the table. @internal */
export function endpointHealth(
  host: { readonly endpoint: Endpoint; readonly slot: number },
  table: EndpointTable,
  plugins: readonly UpstreamPlugin[],
  watched: boolean,
  resolverFailing: boolean,
  now: number,
): EndpointHealthReport {
  const { endpoint, slot } = host;
  const down = table.down[slot] === 1;
  const o = table.override[slot];
  const reasons: HealthReason[] = [];
  if (down) {
    const bits = table.ejection[slot] as number;
    plugins.forEach((p, i) => {
      if ((bits & (1 << i)) === 0) return;
      const detail = p.describeEndpoint?.(host);
      reasons.push(detail === undefined ? { source: p.name } : { source: p.name, detail });
    });
    if (o === -1) reasons.push({ source: "override" });
  }
  let health: HealthStatus = "HEALTHY";
  if (endpoint.weight === 0) health = "DRAINED";
  else if (down) health = "UNHEALTHY";
  else if (resolverFailing) health = "DNS_ERROR";
  else if (!watched) health = "HEALTHCHECKS_OFF";
  return {
    id: endpoint.id,
    host: endpoint.host,
    port: endpoint.port,
    weight: endpoint.weight,
    priority: endpoint.priority,
    health,
    available: endpoint.weight > 0 && !down,
    forMs: Math.max(0, now - (table.stateSince[slot] as number)),
    override: o === 1 ? "up" : o === -1 ? "down" : undefined,
    reasons,
  };
}
