import { InvalidEndpointError } from "./errors.js";

/** Largest endpoint weight, as in Kong (0..65535) and DNS SRV. */
export const MAX_WEIGHT = 65535;
/** Weight given to an endpoint that does not say (Kong's target default). */
export const DEFAULT_WEIGHT = 100;

/**
 * One instance of a service: an address that takes traffic. Immutable; its
 * `id` (`host:port`, `[v6]:port`) is its identity across resolver updates, so
 * per-endpoint state (health, load) survives a change of weight or metadata.
 */
export interface Endpoint {
  /** `host:port`, with IPv6 hosts in brackets: `[::1]:8080`. */
  readonly id: string;
  /** Hostname or IP address to connect to (IPv6 without brackets). */
  readonly host: string;
  /** TCP port, 1..65535. */
  readonly port: number;
  /** Share of traffic within its priority level, 0..65535; 0 = drained, never picked. */
  readonly weight: number;
  /** Priority level: lower numbers take traffic first (SRV priority). */
  readonly priority: number;
  /** URL scheme used to reach it, e.g. `"http"` or `"https"`. */
  readonly scheme: string;
  /**
   * The name this address was discovered under, when `host` is an address
   * resolved from it (DNS): use it for TLS SNI and the `Host` header.
   */
  readonly hostname?: string;
  /** Locality, for zone-aware routing. */
  readonly zone?: string;
  /** Free-form labels, e.g. `["v2", "canary"]`. */
  readonly tags: readonly string[];
  /** Free-form key/value metadata, e.g. `{ version: "2.1.0" }`. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** What `endpoint()` accepts: only `host` and `port` are required. */
export interface EndpointInput {
  host: string;
  port: number;
  weight?: number;
  priority?: number;
  scheme?: string;
  hostname?: string;
  zone?: string;
  tags?: readonly string[];
  metadata?: Readonly<Record<string, string>>;
}

/** Defaults applied by `endpoint()` / `parseEndpoint()` where the input is silent. */
export interface EndpointDefaults {
  /** Scheme for inputs without one, and for default ports. Default `"http"`. */
  scheme?: string;
  /** Weight for inputs without one. Default 100. */
  weight?: number;
  /** Priority for inputs without one. Default 0. */
  priority?: number;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443 };
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const SCHEME = /^[a-z][a-z0-9+.-]*$/;
// Shared by every endpoint without tags or metadata: most have none, and a
// 10,000-endpoint update then allocates two objects fewer per endpoint.
const NO_TAGS: readonly string[] = Object.freeze([]);
const NO_METADATA: Readonly<Record<string, string>> = Object.freeze({});

/** The identity of an endpoint at `host` and `port`: `host:port`, `[v6]:port`. */
export function endpointId(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Builds a validated, frozen `Endpoint` from an object or a string
 * (`"http://10.0.0.1:8080"`, `"api.internal:9000"`, `"[::1]:80"`).
 *
 * @throws InvalidEndpointError on a missing or malformed host, a port outside
 * 1..65535, a weight outside 0..65535 or not an integer, a negative priority.
 */
export function endpoint(input: EndpointInput | string, defaults: EndpointDefaults = {}): Endpoint {
  if (typeof input === "string") return parseEndpoint(input, defaults);
  if (input === null || typeof input !== "object") {
    throw new InvalidEndpointError(`endpoint must be a string or an object, got ${describe(input)}`, input);
  }
  const host = normalizeHost(input.host, input);
  const port = checkInteger(input.port, "port", 1, 65535, input);
  const weight = checkInteger(input.weight ?? defaults.weight ?? DEFAULT_WEIGHT, "weight", 0, MAX_WEIGHT, input);
  const priority = checkInteger(
    input.priority ?? defaults.priority ?? 0,
    "priority",
    0,
    Number.MAX_SAFE_INTEGER,
    input,
  );
  const scheme = input.scheme ?? defaults.scheme ?? "http";
  if (typeof scheme !== "string" || !SCHEME.test(scheme)) {
    throw new InvalidEndpointError(`invalid scheme ${describe(scheme)}`, input);
  }
  const result: { -readonly [K in keyof Endpoint]: Endpoint[K] } = {
    id: endpointId(host, port),
    host,
    port,
    weight,
    priority,
    scheme,
    tags: checkTags(input.tags, input),
    metadata: checkMetadata(input.metadata, input),
  };
  checkOptionalString(input.hostname, "hostname", input);
  checkOptionalString(input.zone, "zone", input);
  if (input.hostname !== undefined) result.hostname = input.hostname;
  if (input.zone !== undefined) result.zone = input.zone;
  return Object.freeze(result);
}

/** A frozen copy of `tags`, validated; the shared empty list when there are none. */
function checkTags(tags: unknown, input: unknown): readonly string[] {
  if (tags === undefined || tags === null) return NO_TAGS;
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== "string")) {
    throw new InvalidEndpointError("tags must be an array of strings", input);
  }
  return tags.length === 0 ? NO_TAGS : Object.freeze([...tags]);
}

/** A frozen copy of `metadata`, validated; the shared empty record when there is none. */
function checkMetadata(metadata: unknown, input: unknown): Readonly<Record<string, string>> {
  if (metadata === undefined || metadata === null) return NO_METADATA;
  if (typeof metadata !== "object" || Object.values(metadata).some((v) => typeof v !== "string")) {
    throw new InvalidEndpointError("metadata must be an object of string values", input);
  }
  return Object.keys(metadata).length === 0 ? NO_METADATA : Object.freeze({ ...(metadata as Record<string, string>) });
}

function checkOptionalString(value: unknown, key: string, input: unknown): void {
  if (value !== undefined && typeof value !== "string") {
    throw new InvalidEndpointError(`${key} must be a string`, input);
  }
}

/**
 * Parses `"scheme://host:port"`, `"host:port"` or `"scheme://host"` (default
 * port of the scheme) into an `Endpoint`, as KrakenD's `host` entries.
 * A trailing `/` is allowed; a path, query, fragment or credentials are not.
 *
 * @throws InvalidEndpointError
 */
export function parseEndpoint(text: string, defaults: EndpointDefaults = {}): Endpoint {
  if (typeof text !== "string" || text.trim() === "") {
    throw new InvalidEndpointError(`endpoint string must be non-empty, got ${describe(text)}`, text);
  }
  const trimmed = text.trim();
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed);
  const scheme = hasScheme ? trimmed.slice(0, trimmed.indexOf(":")).toLowerCase() : (defaults.scheme ?? "http");
  let url: URL;
  try {
    // Parse as http so that the WHATWG parser treats the authority the same
    // way whatever the scheme (non-special schemes keep raw hosts).
    url = new URL(`http://${hasScheme ? trimmed.slice(trimmed.indexOf("://") + 3) : trimmed}`);
  } catch (cause) {
    throw new InvalidEndpointError(`cannot parse endpoint "${text}"`, text, { cause });
  }
  if (url.username || url.password)
    throw new InvalidEndpointError(`endpoint "${text}" must not carry credentials`, text);
  if ((url.pathname !== "/" && url.pathname !== "") || url.search || url.hash) {
    throw new InvalidEndpointError(`endpoint "${text}" must be an origin, without path, query or fragment`, text);
  }
  if (url.hostname === "") throw new InvalidEndpointError(`endpoint "${text}" has no host`, text);
  let port: number;
  if (url.port !== "") {
    port = Number(url.port);
  } else {
    // WHATWG drops the default port of http (80); find whether one was written.
    const explicit = /:(\d+)\/?$/.exec(trimmed);
    const fallback = DEFAULT_PORTS[scheme];
    if (explicit) port = Number(explicit[1]);
    else if (fallback !== undefined) port = fallback;
    else throw new InvalidEndpointError(`endpoint "${text}" has no port and scheme "${scheme}" has no default`, text);
  }
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return endpoint({ host, port, scheme }, defaults);
}

/**
 * True when two endpoints are equal in every field. Upstreams use it to tell
 * a real change from a re-announcement of the same set.
 */
export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return (
    a === b ||
    (a.id === b.id &&
      a.weight === b.weight &&
      a.priority === b.priority &&
      a.scheme === b.scheme &&
      a.hostname === b.hostname &&
      a.zone === b.zone &&
      sameList(a.tags, b.tags) &&
      sameRecord(a.metadata, b.metadata))
  );
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * Validates a host as `endpoint()` does and returns it normalized: IPv6
 * without brackets and canonical, names lower-cased without a trailing dot.
 * Internal (not in the public surface).
 *
 * @throws InvalidEndpointError
 */
export function normalizeHost(host: unknown, input: unknown = host): string {
  if (typeof host !== "string" || host.trim() === "") {
    throw new InvalidEndpointError(`endpoint needs a host, got ${describe(host)}`, input);
  }
  let h = host.trim();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  if (h.includes(":")) {
    // IPv6: let the URL parser validate and canonicalize it.
    try {
      const canonical = new URL(`http://[${h}]/`).hostname;
      return canonical.slice(1, -1);
    } catch {
      throw new InvalidEndpointError(`invalid IPv6 address "${host}"`, input);
    }
  }
  if (IPV4.test(h)) return h;
  if (/^[\d.]+$/.test(h)) throw new InvalidEndpointError(`invalid IPv4 address "${host}"`, input);
  if (!HOSTNAME.test(h)) throw new InvalidEndpointError(`invalid hostname "${host}"`, input);
  return h.toLowerCase().replace(/\.$/, "");
}

function checkInteger(value: unknown, field: string, min: number, max: number, input: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in ${min}..${max}`;
    throw new InvalidEndpointError(`${field} must be ${range}, got ${describe(value)}`, input);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value == null) return String(value);
  return typeof value;
}
