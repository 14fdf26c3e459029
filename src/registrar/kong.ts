import { endpointId } from "../endpoint.js";
import { InvalidConfigError, show } from "../errors.js";
import { checkInteger, checkOptions } from "../options.js";
import { splitKongTarget } from "../resolvers/registry/kong-admin.js";
import type { HttpRegistrarOptions } from "./http-registrar.js";
import {
  checkHost,
  checkPathName,
  checkString,
  checkTags,
  HttpRegistrar,
  isAnswer,
  segment,
} from "./http-registrar.js";

/** Options of `kongRegistrar()`. */
export interface KongRegistrarOptions extends HttpRegistrarOptions {
  /**
   * The Kong Admin API, or several Kong nodes' Admin APIs to fail over
   * between (they share one database). Default `"http://127.0.0.1:8001"`.
   */
  adminUrls?: string | readonly string[];
  /** The upstream to join. It must exist: the registrar adds a target to it, it does not create it. */
  upstream: string;
  /** This instance as Kong reaches it: `"host:port"` (`"[v6]:port"` for IPv6), port required. */
  target: string;
  /** The target's weight, 0..65535 (0: drained, no traffic). Default 100, Kong's. */
  weight?: number;
  /** Tags of the target (Kong: no commas or slashes). */
  tags?: readonly string[];
  /** Admin token, sent as `Kong-Admin-Token` (never in errors or events). */
  token?: string;
  /** Kong Enterprise workspace: its name goes before `/upstreams`. Default none. */
  workspace?: string;
}

/** How many times a registration retries at once when a target vanishes between POST (409) and PATCH (404). */
const RACES = 3;

/**
 * Self-registration as a target of a Kong upstream (seeds/001: instances
 * add themselves when they start and leave when they stop), through Kong's
 * Admin API:
 *
 * - register: `POST /upstreams/<upstream>/targets` `{ target, weight, tags }`.
 *   A 409 (the target is already there: left by an earlier run of this
 *   instance that died without `close()`, or weighted 0 by a sweep) is
 *   fine: `PATCH /upstreams/<upstream>/targets/<target>` sets this
 *   registrar's weight and tags on it;
 * - no heartbeat: Kong has no TTL for targets. **A process that dies
 *   without `close()` leaves its target in the upstream**: Kong's health
 *   checks on the upstream (active, or passive) are what take it out of
 *   traffic; or run a sweep that sets weight 0 on (or deletes) targets that
 *   no longer answer;
 * - deregister: `DELETE /upstreams/<upstream>/targets/<target>`; a 404 is
 *   already gone.
 *
 * The admin token goes in `Kong-Admin-Token`; every request failure is a
 * `RegistryError`.
 */
export class KongRegistrar extends HttpRegistrar {
  /** The upstream joined. */
  readonly upstream: string;
  /** The target registered, normalized as Kong stores it: `"10.0.0.5:8080"`, `"[fd00::5]:8080"`. */
  readonly target: string;
  /** The target's weight. */
  readonly weight: number;
  readonly #targets: string;
  readonly #body: Readonly<Record<string, unknown>>;

  constructor(options: KongRegistrarOptions) {
    const o = checkOptions<KongRegistrarOptions>(options, "kongRegistrar");
    const upstream = checkPathName(o.upstream, "upstream");
    const target = checkTarget(o.target);
    const weight = checkInteger(o.weight, "weight", 100, 0, 65535);
    const tags = checkTags(o.tags, "tags", (t) => !/[,/]/.test(t) && t.trim() === t);
    const workspace = checkPathName(o.workspace, "workspace", true);
    super({
      registry: "kong",
      options: o,
      defaultName: `kong:${upstream}/${target}`,
      urls: { option: "adminUrls", value: o.adminUrls, fallback: "http://127.0.0.1:8001" },
      token: { header: "Kong-Admin-Token", value: o.token },
    });
    this.upstream = upstream;
    this.target = target;
    this.weight = weight;
    this.#targets = `${workspace === undefined ? "" : `${segment(workspace)}/`}upstreams/${segment(upstream)}/targets`;
    this.#body = Object.freeze(tags === undefined ? { weight } : { weight, tags });
  }

  protected async register(signal: AbortSignal): Promise<void> {
    for (let race = 0; ; race++) {
      try {
        await this.send({ method: "POST", path: this.#targets, json: { target: this.target, ...this.#body } }, signal);
        return;
      } catch (error) {
        if (!isAnswer(error, 409)) throw error;
      }
      try {
        await this.send(
          { method: "PATCH", path: `${this.#targets}/${segment(this.target)}`, json: this.#body },
          signal,
        );
        return;
      } catch (error) {
        // Deleted between the POST and the PATCH: add it again.
        if (!isAnswer(error, 404) || race + 1 >= RACES) throw error;
      }
    }
  }

  protected async deregister(signal: AbortSignal): Promise<void> {
    try {
      await this.send({ method: "DELETE", path: `${this.#targets}/${segment(this.target)}` }, signal);
    } catch (error) {
      if (!isAnswer(error, 404)) throw error;
    }
  }
}

/**
 * Creates a `KongRegistrar`: call `start()` to add the target, `close()` to
 * remove it.
 *
 * @example
 * const registrar = kongRegistrar({
 *   adminUrls: "http://kong-admin.internal:8001",
 *   upstream: "api-upstream",
 *   target: "10.0.0.5:8080",
 *   token: process.env.KONG_ADMIN_TOKEN,
 * });
 * await registrar.start();
 *
 * @throws InvalidConfigError naming the option that is missing or invalid.
 */
export function kongRegistrar(options: KongRegistrarOptions): KongRegistrar {
  return new KongRegistrar(options);
}

/** `"host:port"` with an explicit port, normalized as an endpoint id. */
function checkTarget(value: unknown): string {
  const text = checkString(value, "target");
  const split = splitKongTarget(text);
  const explicitPort = text.startsWith("[") ? /\]:\d+$/.test(text) : text.split(":").length === 2;
  if (split === undefined || !explicitPort || split.port < 1 || split.port > 65535) {
    throw new InvalidConfigError("target", `must be "host:port" with a port in 1..65535, got ${show(value)}`);
  }
  return endpointId(checkHost(split.host, "target"), split.port);
}
