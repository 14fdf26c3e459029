import { InvalidConfigError } from "../../errors.js";
import { checkBoolean, checkInteger, checkOptions } from "../../options.js";
import type { LookupContext, RefreshAnswer } from "../refresh/answer.js";
import { refreshSettings } from "../refresh/options.js";
import { InstanceList } from "./instances.js";
import type { KongPage } from "./kong-admin.js";
import { addKongTarget, kongRecord, parseKongPage, unhealthyTargets } from "./kong-admin.js";
import type { RegistryResolverOptions } from "./options.js";
import { baseUrls, checkText, registrySettings } from "./options.js";
import { RegistryResolver } from "./resolver.js";

/** Options of `kongResolver()`. */
export interface KongResolverOptions extends RegistryResolverOptions {
  /**
   * The Kong Admin API, or several Kong nodes' Admin APIs to fail over
   * between. Default `"http://127.0.0.1:8001"`.
   */
  url?: string | readonly string[];
  /** Admin token, sent as `Kong-Admin-Token` (never in errors or events). */
  token?: string;
  /** Kong Enterprise workspace: its name goes before `/upstreams`. Default none. */
  workspace?: string;
  /**
   * Also read `GET /upstreams/<name>/health` and leave out the targets Kong
   * reports `UNHEALTHY` (its active and passive checks). Default false.
   */
  health?: boolean;
  /** Targets per page (Kong's `size`), 1..1000. Default 1,000. */
  pageSize?: number;
}

/** A guard against a server whose `next` never ends. */
const MAX_PAGES = 1_000;

/**
 * Kong Admin API discovery: an upstream's targets, from
 * `GET /upstreams/<name>/targets`, polled every `intervalMs` (Kong has no
 * blocking queries).
 *
 * - Every page is read (`size`, then `offset` until `next` is null); a
 *   refresh is one complete list, never a part of one.
 * - Each target `"host:port"` (`"host"`: port 8000, as Kong) is an endpoint
 *   with Kong's weight (0..65535, default 100; 0 = drained: kept, never
 *   picked, as in Kong) and tags.
 * - `health: true` also reads `/upstreams/<name>/health` and leaves out the
 *   targets Kong reports `UNHEALTHY`; when every target is, the empty
 *   answer is confirmed before the set empties (Kong has no fail-open
 *   either).
 * - The admin token goes in `Kong-Admin-Token`.
 */
export class KongResolver extends RegistryResolver {
  /** The upstream whose targets are listed. */
  readonly upstream: string;
  readonly #prefix: string;
  readonly #health: boolean;
  readonly #pageSize: number;

  constructor(upstream: string, options?: KongResolverOptions) {
    const o = checkOptions<KongResolverOptions>(options, "kongResolver");
    const name = checkText(upstream, "upstream");
    if (name === undefined) throw new InvalidConfigError("upstream", "an upstream name is required");
    const workspace = checkText(o.workspace, "workspace");
    const health = checkBoolean(o.health, "health", false);
    const pageSize = checkInteger(o.pageSize, "pageSize", 1_000, 1, 1_000);
    super({
      registry: "kong",
      settings: registrySettings(o, `kong:${name}`),
      refresh: refreshSettings(o),
      bases: baseUrls(o.url, "url", "http://127.0.0.1:8001"),
      headers: o.headers,
      token: { header: "Kong-Admin-Token", value: o.token },
    });
    this.upstream = name;
    this.#prefix = `${workspace === undefined ? "" : `${encodeURIComponent(workspace)}/`}upstreams/${encodeURIComponent(name)}`;
    this.#health = health;
    this.#pageSize = pageSize;
  }

  protected async lookup(context: LookupContext): Promise<RefreshAnswer> {
    const targets = await this.#all("targets", context.signal);
    const unhealthy = new Set<string>();
    if (this.#health) for (const page of await this.#all("health", context.signal)) unhealthyTargets(page, unhealthy);
    const entries = targets.length === 1 ? (targets[0] as readonly unknown[]) : targets.flat();
    const list = new InstanceList(this.scheme, (i) => kongRecord(entries[i], i));
    for (let i = 0; i < entries.length; i++) addKongTarget(list, entries[i], i, unhealthy);
    return list.result();
  }

  /** Every page of `/upstreams/<name>/<what>`, in order. */
  async #all(what: "targets" | "health", signal: AbortSignal): Promise<(readonly unknown[])[]> {
    const pages: (readonly unknown[])[] = [];
    const seen = new Set<string>();
    let offset: string | undefined;
    do {
      const query: [string, string][] = [["size", String(this.#pageSize)]];
      if (offset !== undefined) query.push(["offset", offset]);
      const response = await this.get({ path: `${this.#prefix}/${what}`, query }, signal);
      const page: KongPage = parseKongPage(response.body, this.http.context(response.url));
      pages.push(page.data);
      offset = page.offset;
      if (offset !== undefined) {
        if (seen.has(offset) || pages.length >= MAX_PAGES) {
          throw this.answerError(
            "ERR_REGISTRY_BODY",
            seen.has(offset)
              ? `paging loops: offset ${JSON.stringify(offset)} came twice`
              : `more than ${MAX_PAGES} pages`,
          );
        }
        seen.add(offset);
      }
    } while (offset !== undefined);
    return pages;
  }
}

/**
 * Creates a `KongResolver` for the targets of Kong upstream `upstream`.
 *
 * @example
 * const resolver = kongResolver("api-upstream", { url: "http://kong-admin:8001", token: process.env.KONG_ADMIN_TOKEN });
 * const api = createUpstream({ name: "api", resolver });
 *
 * @throws InvalidConfigError on a missing upstream name or a bad option.
 */
export function kongResolver(upstream: string, options?: KongResolverOptions): KongResolver {
  return new KongResolver(upstream, options);
}
