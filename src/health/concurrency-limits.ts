import type { Host } from "../balancer.js";
import type { ConcurrencyLimitKind } from "../errors.js";
import { ConcurrencyLimitError, InvalidConfigError, show } from "../errors.js";
import { checkKnownOptions, checkName } from "../options.js";
import type { PluginContext, UpstreamPlugin } from "../upstream/plugin.js";
import { attachOnce } from "../upstream/plugin.js";

/** Options of `concurrencyLimits()`. */
export interface ConcurrencyLimitsOptions {
  /** The plug-in's name: its section in `snapshot()`. Default `"concurrency-limits"`. */
  name?: string;
  /**
   * Attempts in flight on the whole upstream at most (Envoy's cluster
   * `max_requests`, default 1024): `begin()` refuses the next one with
   * `ConcurrencyLimitError` (`limit: "upstream"`). A positive integer, or
   * `Infinity` for no limit.
   */
  maxRequests?: number;
  /**
   * Attempts in flight on one endpoint at most: `begin()` tries other
   * endpoints, and refuses with `ConcurrencyLimitError` (`limit:
   * "endpoint"`) when every one it tried is full. A positive integer, or
   * `Infinity` (the default) for no limit.
   */
  maxRequestsPerEndpoint?: number;
}

/** `snapshot().plugins[name]` of `concurrencyLimits()`. */
export interface ConcurrencyLimitsView {
  /** The limits in force. JSON has no `Infinity`: no limit is `null`. */
  readonly maxRequests: number | null;
  readonly maxRequestsPerEndpoint: number | null;
  /** Attempts in flight on the upstream now. */
  readonly inFlight: number;
  /** `begin()` calls refused since the plug-in started, by the limit that refused them. */
  readonly rejected: { readonly upstream: number; readonly endpoint: number };
}

/** The plug-in `concurrencyLimits()` makes. */
export interface ConcurrencyLimitsPlugin extends UpstreamPlugin {
  /** The limits, attempts in flight, and refusals so far. */
  describe(): ConcurrencyLimitsView;
}

const UPSTREAM = 1;
const ENDPOINT = 2;

/**
 * Concurrency limits, as a plug-in (Envoy's cluster circuit breakers,
 * `max_requests`): at most `maxRequests` attempts in flight on the upstream
 * and `maxRequestsPerEndpoint` on any one endpoint, enforced in `begin()`.
 * An attempt over a limit is refused with `ConcurrencyLimitError`, which
 * says which limit; it is not started, so nothing is counted. An endpoint
 * that is full is not ejected: it still takes picks (`pick()` does not
 * count in-flight attempts), and `begin()` tries other endpoints before it
 * refuses. Costs two comparisons per `begin()`; no timer.
 *
 * @example
 * const upstream = createUpstream({
 *   name: "api",
 *   resolver: staticResolver(["http://10.0.0.1:8080", "http://10.0.0.2:8080"]),
 *   plugins: [concurrencyLimits({ maxRequests: 200, maxRequestsPerEndpoint: 50 })],
 * });
 * @throws InvalidConfigError naming the option that is invalid.
 */
export function concurrencyLimits(options?: ConcurrencyLimitsOptions): ConcurrencyLimitsPlugin {
  const o = checkKnownOptions<ConcurrencyLimitsOptions>(options, "concurrencyLimits()", [
    "name",
    "maxRequests",
    "maxRequestsPerEndpoint",
  ]);
  return new ConcurrencyLimits(
    checkName(o.name, "concurrency-limits"),
    limit("maxRequests", o.maxRequests, 1024),
    limit("maxRequestsPerEndpoint", o.maxRequestsPerEndpoint, Number.POSITIVE_INFINITY),
  );
}

class ConcurrencyLimits implements ConcurrencyLimitsPlugin {
  readonly name: string;
  readonly #maxRequests: number;
  readonly #maxPerEndpoint: number;
  #ctx: PluginContext | undefined;
  // Which limit refused last (UPSTREAM or ENDPOINT): read by refusal().
  #refusedBy = 0;
  #rejectedUpstream = 0;
  #rejectedEndpoint = 0;

  constructor(name: string, maxRequests: number, maxPerEndpoint: number) {
    this.name = name;
    this.#maxRequests = maxRequests;
    this.#maxPerEndpoint = maxPerEndpoint;
  }

  attach(context: PluginContext): void {
    attachOnce(this, this.#ctx);
    this.#ctx = context;
  }

  admit(host: Host): boolean {
    const ctx = this.#ctx as PluginContext;
    if (ctx.inFlight() >= this.#maxRequests) {
      this.#refusedBy = UPSTREAM;
      return false;
    }
    if ((ctx.table.inFlight[host.slot] as number) >= this.#maxPerEndpoint) {
      this.#refusedBy = ENDPOINT;
      return false;
    }
    return true;
  }

  refusal(): ConcurrencyLimitError {
    const kind: ConcurrencyLimitKind = this.#refusedBy === UPSTREAM ? "upstream" : "endpoint";
    if (kind === "upstream") this.#rejectedUpstream++;
    else this.#rejectedEndpoint++;
    const upstream = (this.#ctx as PluginContext).upstream;
    return new ConcurrencyLimitError(upstream, kind, kind === "upstream" ? this.#maxRequests : this.#maxPerEndpoint);
  }

  describe(): ConcurrencyLimitsView {
    return {
      maxRequests: finiteOrNull(this.#maxRequests),
      maxRequestsPerEndpoint: finiteOrNull(this.#maxPerEndpoint),
      inFlight: this.#ctx?.inFlight() ?? 0,
      rejected: { upstream: this.#rejectedUpstream, endpoint: this.#rejectedEndpoint },
    };
  }
}

function limit(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (value === Number.POSITIVE_INFINITY) return value;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new InvalidConfigError(option, `must be a positive integer or Infinity, got ${show(value)}`);
  }
  return value;
}

function finiteOrNull(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}
