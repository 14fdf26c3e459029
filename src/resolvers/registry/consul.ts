import { InvalidConfigError, show } from "../../errors.js";
import { checkBoolean, checkInteger, checkNumber, checkOptions } from "../../options.js";
import type { LookupContext, RefreshAnswer } from "../refresh/answer.js";
import { refreshSettings } from "../refresh/options.js";
import { parseConsulHealth } from "./consul-health.js";
import { nextConsulIndex } from "./consul-index.js";
import type { KnownEndpoints } from "./known-endpoints.js";
import type { RegistryResolverOptions } from "./options.js";
import { baseUrls, checkText, registrySettings } from "./options.js";
import { RegistryResolver } from "./resolver.js";

/** Options of `consulResolver()`. */
export interface ConsulResolverOptions extends RegistryResolverOptions {
  /**
   * The Consul agent's HTTP API, or several agents to fail over between
   * (a failed request moves to the next; node-consul #149). Default
   * `"http://127.0.0.1:8500"`.
   */
  address?: string | readonly string[];
  /** ACL token, sent as `X-Consul-Token` (never in errors or events). */
  token?: string;
  /**
   * Only instances whose checks all pass (Consul's `passing`). Default true.
   * False: passing instances at `Weights.Passing` and warning ones at
   * `Weights.Warning`; critical ones are left out either way.
   */
  passing?: boolean;
  /** Only instances with this tag, or with every one of these tags (Consul's `tag`, repeated). */
  tag?: string | readonly string[];
  /** Datacenter to ask (Consul's `dc`). Default the agent's. */
  datacenter?: string;
  /** Namespace (Consul Enterprise's `ns`). Default the token's or `default`. */
  namespace?: string;
  /**
   * Blocking queries: each query waits at Consul until the answer changes
   * or `waitMs` passes (long polling), so changes arrive at once and an
   * idle service costs one request per `waitMs`. Default true. False: poll
   * every `intervalMs`.
   */
  blocking?: boolean;
  /** How long a blocking query may wait at Consul (its `wait`), ms, at most 600,000. Default 60,000. */
  waitMs?: number;
  /**
   * A blocking query that has not answered within `stallFactor` × its wait
   * (plus Consul's own jitter of wait/16) is torn down, reported as
   * `ERR_REGISTRY_STALLED` and sent again. Default 2.
   */
  stallFactor?: number;
  /**
   * Least time between the starts of two queries, ms: a Consul that
   * answers blocking queries at once (an index that never settles) cannot
   * make the resolver spin. Default 1,000.
   */
  minIntervalMs?: number;
}

/**
 * Consul discovery: the healthy instances of a service from
 * `GET /v1/health/service/<name>`, kept current with blocking queries.
 *
 * - Query: `passing` (default), `tag`, `dc`, `ns`; the ACL token in
 *   `X-Consul-Token`.
 * - Endpoints: `Service.Address`, or `Node.Address` when empty;
 *   `Service.Port`; weight `Weights.Passing`, or `Weights.Warning` for an
 *   instance in warning (with `passing: false`); `Service.Tags` as tags,
 *   `Service.Meta` as metadata (see `parseConsulHealth`). An instance
 *   listed again unchanged is the endpoint of the last answer, not built
 *   and validated anew: a refresh of a large service costs little more
 *   than reading its JSON.
 * - Blocking queries follow Consul's index rules (`nextConsulIndex`): the
 *   index of each answer is sent back with `wait`; an index that goes
 *   backwards resets to 0 (a full, non-blocking query); an index below 1
 *   is never sent; no two queries start less than `minIntervalMs` apart.
 *   An answer without a usable `X-Consul-Index` is polled again after
 *   `intervalMs`. A query silent for `stallFactor` × its wait is a stall.
 *   A blocking query that returns the index it was sent (its wait passed
 *   without a change) is the last answer again: its body is not read.
 * - Several agents: a failed query is retried on the next one.
 * - Failures follow the refresh loop's rules: retries with backoff, the
 *   last good set kept, an empty answer confirmed (by non-blocking
 *   queries `confirmEmptyDelayMs` apart) before it empties the set.
 */
export class ConsulResolver extends RegistryResolver {
  /** The service looked up. */
  readonly service: string;
  readonly #query: readonly (readonly [string, string])[];
  readonly #passing: boolean;
  readonly #tags: readonly string[];
  readonly #blocking: boolean;
  readonly #waitMs: number;
  readonly #wait: string;
  #index = 0n;
  /** The last answer read, re-announced when a blocking query returns its index unchanged. */
  #last: RefreshAnswer | undefined;
  /** The endpoints of the last answer read, which the next one reuses where an instance did not change. */
  #known: KnownEndpoints | undefined;

  constructor(service: string, options?: ConsulResolverOptions) {
    const o = checkOptions<ConsulResolverOptions>(options, "consulResolver");
    const name = checkText(service, "service") as string;
    if (name === undefined) throw new InvalidConfigError("service", "a service name is required");
    const passing = checkBoolean(o.passing, "passing", true);
    const tags = checkTags(o.tag);
    const datacenter = checkText(o.datacenter, "datacenter");
    const namespace = checkText(o.namespace, "namespace");
    const blocking = checkBoolean(o.blocking, "blocking", true);
    const waitMs = checkInteger(o.waitMs, "waitMs", 60_000, 1, 600_000);
    const stallFactor = checkNumber(o.stallFactor, "stallFactor", 2, 1.1, 100);
    const minIntervalMs = checkNumber(o.minIntervalMs, "minIntervalMs", 1_000, 0, 3_600_000);
    super({
      registry: "consul",
      settings: registrySettings(o, `consul:${name}`),
      refresh: refreshSettings(o, { minIntervalMs }),
      bases: baseUrls(o.address, "address", "http://127.0.0.1:8500"),
      headers: o.headers,
      token: { header: "X-Consul-Token", value: o.token },
      stallFactor,
    });
    this.service = name;
    this.#passing = passing;
    this.#tags = tags;
    this.#blocking = blocking;
    this.#waitMs = waitMs;
    this.#wait = waitMs % 1000 === 0 ? `${waitMs / 1000}s` : `${waitMs}ms`;
    const query: [string, string][] = [];
    if (passing) query.push(["passing", "true"]);
    for (const tag of tags) query.push(["tag", tag]);
    if (datacenter !== undefined) query.push(["dc", datacenter]);
    if (namespace !== undefined) query.push(["ns", namespace]);
    this.#query = query;
  }

  /** The blocking-query index held: the last answer's `X-Consul-Index` after Consul's rules; 0 when none. */
  get index(): bigint {
    return this.#index;
  }

  protected async lookup(context: LookupContext): Promise<RefreshAnswer> {
    const blocking = this.#blocking && !context.confirming && this.#index > 0n;
    const sent = String(this.#index);
    const query = blocking ? [...this.#query, ["index", sent] as const, ["wait", this.#wait] as const] : this.#query;
    const last = this.#last;
    const response = await this.get(
      {
        path: `v1/health/service/${encodeURIComponent(this.service)}`,
        query,
        // Consul adds up to wait/16 to the wait, to spread wake-ups.
        blockingMs: blocking ? Math.ceil((this.#waitMs * 17) / 16) : undefined,
        // A blocking query that returns the index it was sent returned at its wait: the same answer, not read again.
        unchanged:
          blocking && last !== undefined ? (headers) => headers.get("x-consul-index")?.trim() === sent : undefined,
      },
      context.signal,
    );
    if (response.notModified && last !== undefined) return last;
    this.#last = undefined;
    const { endpoints, dropped, known } = parseConsulHealth(
      response.body,
      { scheme: this.scheme, passingOnly: this.#passing, tags: this.#tags },
      this.http.context(response.url),
      this.#known,
    );
    this.#known = known;
    // The index moves only with an answer that could be read: a body that
    // fails is asked for again, not waited past.
    const next = nextConsulIndex(this.#index, response.headers.get("x-consul-index"));
    this.#index = next ?? 0n;
    const answer: RefreshAnswer = { endpoints, dropped, delayMs: this.#blocking && next !== undefined ? 0 : undefined };
    this.#last = next === undefined ? undefined : answer;
    return answer;
  }
}

/**
 * Creates a `ConsulResolver` for `service`.
 *
 * @example
 * const resolver = consulResolver("api", { address: "http://127.0.0.1:8500", tag: "v2", token: process.env.CONSUL_HTTP_TOKEN });
 * const api = createUpstream({ name: "api", resolver });
 *
 * @throws InvalidConfigError on a missing service name or a bad option.
 */
export function consulResolver(service: string, options?: ConsulResolverOptions): ConsulResolver {
  return new ConsulResolver(service, options);
}

function checkTags(tag: unknown): readonly string[] {
  if (tag === undefined) return [];
  const list = typeof tag === "string" ? [tag] : tag;
  if (!Array.isArray(list) || list.length > 64 || !list.every((t) => typeof t === "string" && t !== "")) {
    throw new InvalidConfigError("tag", `must be a tag or an array of non-empty tags, got ${show(tag)}`);
  }
  return Object.freeze([...list]);
}
