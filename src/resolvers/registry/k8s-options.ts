import { Agent } from "node:https";
import { InvalidConfigError, show } from "../../errors.js";
import { checkInteger, checkInterval, checkNumber, checkOptions } from "../../options.js";
import type { RefreshSettings } from "../refresh/options.js";
import { refreshSettings } from "../refresh/options.js";
import type { KubernetesAccess } from "./k8s-access.js";
import { kubernetesAccess } from "./k8s-access.js";
import type { SliceFamily } from "./k8s-endpoints.js";
import type { SliceOptions } from "./k8s-slices.js";
import type { RegistryResolverOptions, RegistrySettings } from "./options.js";
import { baseUrls, registrySettings } from "./options.js";

/** Options of `kubernetesResolver()`. */
export interface KubernetesResolverOptions extends RegistryResolverOptions {
  /** The service's namespace. Default: the pod's own (the service account's `namespace` file), else `"default"`. */
  namespace?: string;
  /**
   * The port: a name (the slices' TCP port of that name, e.g. `"http"`:
   * the Service port's name), or a number (that port on every endpoint,
   * whatever the slices list). Default: the slices' only TCP port.
   */
  port?: string | number;
  /**
   * Which endpoints are used: `"ready"` (default): `conditions.ready` not
   * false; `"serving"`: `conditions.serving` not false and
   * `conditions.terminating` not true. Missing conditions mean ready and
   * serving.
   */
  condition?: "ready" | "serving";
  /** The address family of the slices used: `"IPv4"`, `"IPv6"`, or `"auto"` (default: IPv4 when the service has an IPv4 slice, else IPv6). */
  addressType?: "IPv4" | "IPv6" | "auto";
  /**
   * The API server, or several to fail over between. Default in a pod:
   * `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`. Given
   * here, credentials come only from `token`/`tokenFile` and `ca`/`caFile`.
   */
  apiServer?: string | readonly string[];
  /** Bearer token (never in errors or events). Default in a pod: the service account's token file. */
  token?: string;
  /** A file holding the bearer token, read again before each list and watch (tokens that rotate). */
  tokenFile?: string;
  /**
   * PEM certificate(s) of the CA that signed the API server's certificate
   * (verified against it alone: see `caFetch`). Default in a pod: the
   * service account's `ca.crt`; otherwise Node's CA store.
   */
  ca?: string | Uint8Array;
  /** A file holding `ca`. */
  caFile?: string;
  /** Where the service account is mounted. Default `/var/run/secrets/kubernetes.io/serviceaccount`. */
  serviceAccountDir?: string;
  /**
   * How often the API server sends a bookmark on a quiet watch, ms. Default
   * 60,000 (recent API servers send one about every minute).
   */
  bookmarkIntervalMs?: number;
  /**
   * A watch silent (no event, no bookmark) for `stallFactor` ×
   * `bookmarkIntervalMs` is torn down, reported (`ERR_REGISTRY_STALLED`)
   * and the service listed again. Default 2.
   */
  stallFactor?: number;
  /**
   * The watch's `timeoutSeconds`, ms (jittered down by `jitter`): the API
   * server ends the watch then, and it is resumed from the last
   * `resourceVersion` (no list). Default 300,000.
   */
  watchTimeoutMs?: number;
  /** Least time between the starts of two watch requests, ms. Default 1,000. */
  minIntervalMs?: number;
  /** Least time between the starts of two lists, ms (a re-list after 410 Gone or a stall waits for it). Default 5,000. */
  minListIntervalMs?: number;
}

/** DNS-1035 label: a Service's name. */
const SERVICE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** DNS-1123 label: a namespace's name. */
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A bearer token: printable ASCII without spaces (a JWT, or an opaque token). */
export const BEARER_TOKEN = /^[!-~]+$/;

/** The options of `kubernetesResolver()`, validated, every default filled in. Internal. */
export interface KubernetesSettings {
  readonly service: string;
  readonly access: KubernetesAccess;
  readonly registry: RegistrySettings;
  readonly refresh: RefreshSettings;
  readonly bases: ReturnType<typeof baseUrls>;
  /** The user's `headers` option (validated by `Credentials`). */
  readonly headers: unknown;
  /** The https agent holding the CA, when one is used (see `caFetch`); destroyed on close. */
  readonly agent: Agent | undefined;
  readonly slices: Omit<SliceOptions, "scheme">;
  readonly family: SliceFamily;
  readonly bookmarkIntervalMs: number;
  readonly stallFactor: number;
  readonly watchTimeoutMs: number;
  readonly minWatchMs: number;
  readonly minListMs: number;
}

/**
 * Validates the options of `kubernetesResolver(service, options)` and
 * resolves where the API server is (`kubernetesAccess`). The https agent
 * of a CA is made last, once nothing can throw.
 *
 * @throws InvalidConfigError naming the option.
 */
export function kubernetesSettings(service: unknown, options: unknown): KubernetesSettings {
  const o = checkOptions<KubernetesResolverOptions>(options, "kubernetesResolver");
  if (typeof service !== "string" || !SERVICE_NAME.test(service)) {
    throw new InvalidConfigError("service", `must be a Service name (a DNS-1035 label), got ${show(service)}`);
  }
  const access = kubernetesAccess(o);
  if (typeof access.namespace !== "string" || !NAMESPACE_NAME.test(access.namespace)) {
    throw new InvalidConfigError(
      "namespace",
      `must be a namespace name (a DNS-1123 label), got ${show(access.namespace)}`,
    );
  }
  const port = checkPort(o.port);
  const condition = o.condition ?? "ready";
  if (condition !== "ready" && condition !== "serving") {
    throw new InvalidConfigError("condition", `must be "ready" or "serving", got ${show(o.condition)}`);
  }
  const family = o.addressType ?? "auto";
  if (family !== "IPv4" && family !== "IPv6" && family !== "auto") {
    throw new InvalidConfigError("addressType", `must be "IPv4", "IPv6" or "auto", got ${show(o.addressType)}`);
  }
  const bookmarkIntervalMs = checkInterval(o.bookmarkIntervalMs, "bookmarkIntervalMs", 60_000);
  const stallFactor = checkNumber(o.stallFactor, "stallFactor", 2, 1.1, 100);
  const watchTimeoutMs = checkInteger(o.watchTimeoutMs, "watchTimeoutMs", 300_000, 1_000, 3_600_000);
  const minWatchMs = checkNumber(o.minIntervalMs, "minIntervalMs", 1_000, 0, 3_600_000);
  const minListMs = checkNumber(o.minListIntervalMs, "minListIntervalMs", 5_000, 0, 3_600_000);
  if (access.token !== undefined && !BEARER_TOKEN.test(access.token)) {
    throw new InvalidConfigError(
      access.tokenFile === undefined ? "token" : "tokenFile",
      "must be a token of printable characters without spaces",
    );
  }
  const settings = registrySettings(o, `kubernetes:${access.namespace}/${service}`);
  const refresh = refreshSettings(o, { minIntervalMs: 0, intervalMs: 10_000 });
  const bases = baseUrls(access.apiServer, "apiServer", undefined);
  // A CA needs its own transport (see caFetch); a fetch of the user's takes the in-cluster CA's place.
  const explicitCa = o.ca !== undefined || o.caFile !== undefined;
  if (explicitCa && o.fetch !== undefined) {
    throw new InvalidConfigError("fetch", "give either fetch or ca/caFile: a CA is used by switchyard's own transport");
  }
  let agent: Agent | undefined;
  if (access.ca !== undefined && o.fetch === undefined) {
    if (bases.urls.some((url) => url.protocol !== "https:")) {
      throw new InvalidConfigError(explicitCa ? "ca" : "apiServer", "a CA is only used with an https apiServer");
    }
    agent = new Agent({ ca: typeof access.ca === "string" ? access.ca : Buffer.from(access.ca), keepAlive: true });
  }
  return {
    service,
    access,
    headers: o.headers,
    registry: settings,
    refresh,
    bases,
    agent,
    slices: { port, condition },
    family,
    bookmarkIntervalMs,
    stallFactor,
    watchTimeoutMs,
    minWatchMs,
    minListMs,
  };
}

function checkPort(port: unknown): string | number | undefined {
  if (port === undefined) return undefined;
  if (typeof port === "string" && port !== "" && port.length <= 63) return port;
  if (typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65_535) return port;
  throw new InvalidConfigError("port", `must be a port name or a number in 1..65535, got ${show(port)}`);
}
