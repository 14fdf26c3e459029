import { InvalidArgumentError, InvalidEndpointError, show } from "./errors.js";

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

const DEFAULT_PORTS: ReadonlyMap<string, number> = new Map([
  ["http", 80],
  ["https", 443],
]);
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
/** A label that WHATWG URL reads as a number (decimal, octal or hex), making the host an IPv4 address. */
const NUMERIC_LABEL = /^(?:\d+|0x[0-9a-f]*)$/i;
const IPV6_TEXT = /^[0-9A-Fa-f:.]+$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;
const SCHEME_PREFIX = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
// Shared by every endpoint without tags or metadata: most have none, and a
// 10,000-endpoint update then allocates two objects fewer per endpoint.
const NO_TAGS: readonly string[] = Object.freeze([]);
const NO_METADATA: Readonly<Record<string, string>> = Object.freeze({});

/** `EndpointDefaults`, validated and filled in. */
interface Defaults {
  readonly scheme: string;
  readonly weight: number;
  readonly priority: number;
}

const NO_DEFAULTS: Defaults = Object.freeze({ scheme: "http", weight: DEFAULT_WEIGHT, priority: 0 });

/**
 * The identity of an endpoint at `host` and `port`: `host:port`, `[v6]:port`,
 * with `host` normalized as `endpoint()` does (`endpointId("API.test.", 80)`
 * is `"api.test:80"`, `endpointId("[0::1]", 80)` is `"[::1]:80"`).
 *
 * @throws InvalidEndpointError when `endpoint({ host, port })` would: the
 * same host grammar, a port outside 1..65535.
 */
export function endpointId(host: string, port: number): string {
  const input = { host, port };
  return idOf(normalizeHost(host, input), checkInteger(port, "port", 1, 65535, input));
}

function idOf(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Builds a validated, frozen `Endpoint` from an object or a string
 * (`"http://10.0.0.1:8080"`, `"api.internal:9000"`, `"[::1]:80"`). Both forms
 * share one host grammar (docs/upstream.md, "Endpoints").
 *
 * @throws InvalidEndpointError on a missing or malformed host, a port outside
 * 1..65535, a weight outside 0..65535 or not an integer, a negative priority,
 * a malformed scheme, tags or metadata.
 * @throws InvalidArgumentError when `defaults` is not an object or holds a bad value.
 */
export function endpoint(input: EndpointInput | string, defaults?: EndpointDefaults): Endpoint {
  return endpointWith(input, checkDefaults(defaults));
}

function endpointWith(input: unknown, d: Defaults): Endpoint {
  if (typeof input === "string") return parseWith(input, d);
  if (input === null || typeof input !== "object") {
    throw new InvalidEndpointError(`endpoint must be a string or an object, got ${show(input)}`, input);
  }
  return build(input as EndpointInput, d, input);
}

/** Builds the endpoint `fields` describe; errors carry `input`, the value the caller gave. */
function build(fields: EndpointInput, d: Defaults, input: unknown): Endpoint {
  const host = normalizeHost(fields.host, input);
  const port = checkInteger(fields.port, "port", 1, 65535, input);
  const weight = fields.weight == null ? d.weight : checkInteger(fields.weight, "weight", 0, MAX_WEIGHT, input);
  const priority =
    fields.priority == null ? d.priority : checkInteger(fields.priority, "priority", 0, Number.MAX_SAFE_INTEGER, input);
  let scheme = d.scheme;
  if (fields.scheme != null) {
    const checked = normalizeScheme(fields.scheme);
    if (checked === undefined) throw new InvalidEndpointError(`invalid scheme ${show(fields.scheme)}`, input);
    scheme = checked;
  }
  const result: { -readonly [K in keyof Endpoint]: Endpoint[K] } = {
    id: idOf(host, port),
    host,
    port,
    weight,
    priority,
    scheme,
    tags: checkTags(fields.tags, input),
    metadata: checkMetadata(fields.metadata, input),
  };
  checkOptionalString(fields.hostname, "hostname", input);
  checkOptionalString(fields.zone, "zone", input);
  if (fields.hostname !== undefined) result.hostname = fields.hostname;
  if (fields.zone !== undefined) result.zone = fields.zone;
  return Object.freeze(result);
}

/**
 * A URL scheme (a letter, then letters, digits, `+`, `-`, `.`), lower-cased;
 * `undefined` when `value` is not one. Internal.
 */
export function normalizeScheme(value: unknown): string | undefined {
  return typeof value === "string" && SCHEME.test(value) ? value.toLowerCase() : undefined;
}

function checkDefaults(defaults: unknown): Defaults {
  if (defaults === undefined) return NO_DEFAULTS;
  if (defaults === null || typeof defaults !== "object") {
    throw new InvalidArgumentError("defaults", `must be an object, got ${show(defaults)}`);
  }
  const { scheme, weight, priority } = defaults as EndpointDefaults;
  if (scheme === undefined && weight === undefined && priority === undefined) return NO_DEFAULTS;
  const checkedScheme = scheme === undefined ? "http" : normalizeScheme(scheme);
  if (checkedScheme === undefined) {
    throw new InvalidArgumentError("defaults.scheme", `must be a URL scheme such as "http", got ${show(scheme)}`);
  }
  return {
    scheme: checkedScheme,
    weight: weight === undefined ? DEFAULT_WEIGHT : defaultInteger(weight, "weight", MAX_WEIGHT),
    priority: priority === undefined ? 0 : defaultInteger(priority, "priority", Number.MAX_SAFE_INTEGER),
  };
}

function defaultInteger(value: unknown, field: string, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? "an integer >= 0" : `an integer in 0..${max}`;
    throw new InvalidArgumentError(`defaults.${field}`, `must be ${range}, got ${show(value)}`);
  }
  return value + 0; // -0 -> 0
}

/** A frozen copy of `tags`, validated (no holes); the shared empty list when there are none. */
function checkTags(tags: unknown, input: unknown): readonly string[] {
  if (tags === undefined || tags === null) return NO_TAGS;
  if (!Array.isArray(tags)) throw new InvalidEndpointError("tags must be an array of strings", input);
  if (tags.length === 0) return NO_TAGS;
  const copy: string[] = [];
  for (let i = 0; i < tags.length; i++) {
    const tag: unknown = tags[i];
    if (typeof tag !== "string") throw new InvalidEndpointError("tags must be an array of strings", input);
    copy.push(tag);
  }
  return Object.freeze(copy);
}

/**
 * A frozen plain-object copy of `metadata`'s own string keys, validated; the
 * shared empty record when there is none. Arrays, class instances (a `Map`)
 * and non-string values are refused.
 */
function checkMetadata(metadata: unknown, input: unknown): Readonly<Record<string, string>> {
  if (metadata === undefined || metadata === null) return NO_METADATA;
  const proto = typeof metadata === "object" ? Object.getPrototypeOf(metadata) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    throw new InvalidEndpointError("metadata must be an object of string values", input);
  }
  const keys = Object.keys(metadata as object);
  if (keys.length === 0) return NO_METADATA;
  const copy: Record<string, string> = {};
  for (const key of keys) {
    const value: unknown = (metadata as Record<string, unknown>)[key];
    if (typeof value !== "string") throw new InvalidEndpointError("metadata must be an object of string values", input);
    // A "__proto__" key (from JSON.parse) is data, not the prototype.
    if (key === "__proto__") Object.defineProperty(copy, key, { value, enumerable: true, writable: true });
    else copy[key] = value;
  }
  return Object.freeze(copy);
}

function checkOptionalString(value: unknown, key: string, input: unknown): void {
  if (value !== undefined && typeof value !== "string") {
    throw new InvalidEndpointError(`${key} must be a string`, input);
  }
}

/**
 * Parses `"scheme://host:port"`, `"host:port"` or `"scheme://host"` (default
 * port of the scheme) into an `Endpoint`, as KrakenD's `host` entries.
 * Whitespace around the string is ignored; a trailing `/` is allowed; a path,
 * query, fragment or credentials are not. The host follows the grammar of
 * `endpoint()`'s `host` (IPv6 in brackets); the scheme is case-insensitive.
 *
 * @throws InvalidEndpointError
 * @throws InvalidArgumentError when `defaults` is not an object or holds a bad value.
 */
export function parseEndpoint(text: string, defaults?: EndpointDefaults): Endpoint {
  return parseWith(text, checkDefaults(defaults));
}

function parseWith(text: unknown, d: Defaults): Endpoint {
  if (typeof text !== "string" || text.trim() === "") {
    throw new InvalidEndpointError(`endpoint string must be non-empty, got ${show(text)}`, text);
  }
  const trimmed = text.trim();
  const prefix = SCHEME_PREFIX.exec(trimmed);
  const scheme = prefix ? (prefix[1] as string).toLowerCase() : d.scheme;
  let rest = prefix ? trimmed.slice(prefix[0].length) : trimmed;
  const end = rest.search(/[/?#]/);
  if (end !== -1) {
    if (rest.slice(end) !== "/") {
      throw new InvalidEndpointError(`endpoint "${text}" must be an origin, without path, query or fragment`, text);
    }
    rest = rest.slice(0, end);
  }
  if (rest.includes("@")) throw new InvalidEndpointError(`endpoint "${text}" must not carry credentials`, text);
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close === -1) throw new InvalidEndpointError(`endpoint "${text}" has "[" without "]"`, text);
    host = rest.slice(0, close + 1);
    const after = rest.slice(close + 1);
    if (after !== "") {
      if (!after.startsWith(":"))
        throw new InvalidEndpointError(`endpoint "${text}": expected ":port" after "]"`, text);
      portText = after.slice(1);
    }
  } else {
    const colon = rest.indexOf(":");
    if (colon !== -1 && rest.includes(":", colon + 1)) {
      throw new InvalidEndpointError(
        `endpoint "${text}" has more than one ":" (write an IPv6 address in brackets: "[::1]:80")`,
        text,
      );
    }
    host = colon === -1 ? rest : rest.slice(0, colon);
    if (colon !== -1) portText = rest.slice(colon + 1);
  }
  if (host === "") throw new InvalidEndpointError(`endpoint "${text}" has no host`, text);
  let port: number;
  if (portText !== undefined) {
    if (!/^\d+$/.test(portText)) {
      throw new InvalidEndpointError(
        `endpoint "${text}": port must be an integer in 1..65535, got ${JSON.stringify(portText)}`,
        text,
      );
    }
    port = Number(portText);
  } else {
    const fallback = DEFAULT_PORTS.get(scheme);
    if (fallback === undefined) {
      throw new InvalidEndpointError(`endpoint "${text}" has no port and scheme "${scheme}" has no default`, text);
    }
    port = fallback;
  }
  return build({ host, port, scheme }, d, text);
}

/**
 * Validates a host list — a static resolver's `hosts`, `ManualResolver.push()`
 * — into one endpoint per id. Entries that share an id (`"a:1"` twice) are one
 * endpoint whose weight is the sum of theirs, as KrakenD users list a host
 * twice to give it twice the share; they must agree in everything else.
 * Internal (not in the public surface).
 *
 * @throws InvalidArgumentError when `list` is not an array (named `argument`).
 * @throws InvalidEndpointError naming the index of a bad entry (a hole
 * included), the two entries that share an id but differ in scheme,
 * priority, hostname, zone, tags or metadata, or the entry whose weight takes
 * its id's sum above 65535.
 */
export function endpointList(list: unknown, defaults: EndpointDefaults | undefined, argument: string): Endpoint[] {
  if (!Array.isArray(list)) {
    throw new InvalidArgumentError(
      argument,
      `must be an array of "host:port" strings or endpoint objects, got ${show(list)}`,
    );
  }
  const d = checkDefaults(defaults);
  const parsed: Endpoint[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const entry: unknown = list[i];
    try {
      parsed[i] = endpointWith(entry, d);
    } catch (error) {
      if (!(error instanceof InvalidEndpointError)) throw error;
      throw new InvalidEndpointError(`${argument}[${i}]: ${error.message}`, entry, { cause: error });
    }
  }
  // Entries with one id are found next to each other in id order (a stable
  // sort keeps the first listed first): no map of fresh id strings to hash.
  const order = Array.from(parsed.keys()).sort((x, y) => compareIds(parsed[x] as Endpoint, parsed[y] as Endpoint));
  const out: Endpoint[] = [];
  let first = -1; // index in list of the kept entry's first occurrence
  for (const i of order) {
    const e = parsed[i] as Endpoint;
    const kept = out[out.length - 1];
    if (kept === undefined || kept.id !== e.id) {
      out.push(e);
      first = i;
      continue;
    }
    const difference = differingField(kept, e);
    if (difference !== undefined) {
      throw new InvalidEndpointError(
        `${entryName(argument, first, list[first])} and ${entryName(argument, i, list[i])} are both endpoint ${e.id} but differ in ${difference}; entries with the same id are one endpoint and may differ only in weight (their weights add up)`,
        [list[first], list[i]],
      );
    }
    const weight = kept.weight + e.weight;
    if (weight > MAX_WEIGHT) {
      throw new InvalidEndpointError(
        `${argument}[${i}]: the weights of endpoint ${e.id} add up to ${weight}, above ${MAX_WEIGHT} (entries with the same id add their weights)`,
        list[i],
      );
    }
    if (weight !== kept.weight) out[out.length - 1] = Object.freeze({ ...kept, weight });
  }
  return out;
}

function compareIds(a: Endpoint, b: Endpoint): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function entryName(argument: string, index: number, entry: unknown): string {
  return typeof entry === "string" ? `${argument}[${index}] (${JSON.stringify(entry)})` : `${argument}[${index}]`;
}

/** The first field other than id and weight in which two endpoints differ, with both values; undefined when none. */
function differingField(a: Endpoint, b: Endpoint): string | undefined {
  const pairs: [string, unknown, unknown, boolean][] = [
    ["scheme", a.scheme, b.scheme, a.scheme === b.scheme],
    ["priority", a.priority, b.priority, a.priority === b.priority],
    ["hostname", a.hostname, b.hostname, a.hostname === b.hostname],
    ["zone", a.zone, b.zone, a.zone === b.zone],
    ["tags", a.tags, b.tags, sameList(a.tags, b.tags)],
    ["metadata", a.metadata, b.metadata, sameRecord(a.metadata, b.metadata)],
  ];
  const found = pairs.find((p) => !p[3]);
  if (found === undefined) return undefined;
  const show = (v: unknown) => (v === undefined ? "undefined" : JSON.stringify(v));
  return `${found[0]} (${show(found[1])} and ${show(found[2])})`;
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
 * One grammar for every form (docs/upstream.md, "Endpoints"): a host name
 * (ASCII letters, digits, `_`, `-`; labels of 1..63, 253 in all; the last
 * label not a number), a dotted-quad IPv4 address, or an IPv6 address
 * (brackets optional here, no zone id). No whitespace, no percent-escapes.
 * Internal (not in the public surface).
 *
 * @throws InvalidEndpointError
 */
export function normalizeHost(host: unknown, input: unknown = host): string {
  if (typeof host !== "string" || host.trim() === "") {
    throw new InvalidEndpointError(`endpoint needs a host, got ${show(host)}`, input);
  }
  const bracketed = host.startsWith("[") && host.endsWith("]");
  const h = bracketed ? host.slice(1, -1) : host;
  if (bracketed || h.includes(":")) return normalizeIpv6(host, h, bracketed, input);
  if (IPV4.test(h)) return h;
  const labels = h.replace(/\.$/, "").split(".");
  if (NUMERIC_LABEL.test(labels[labels.length - 1] as string) || /^[\d.]+$/.test(h)) {
    if (labels.every((label) => NUMERIC_LABEL.test(label))) {
      throw new InvalidEndpointError(
        `invalid IPv4 address "${host}": write four decimal numbers 0..255 without leading zeros ("10.0.0.1")`,
        input,
      );
    }
    throw new InvalidEndpointError(
      `invalid hostname "${host}": its last label is a number, which makes it an IPv4 address`,
      input,
    );
  }
  if (!HOSTNAME.test(h)) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: any character outside ASCII
    const hint = /[^\u0000-\u007f]/.test(h) ? ": write an internationalized name in punycode (xn--...)" : "";
    throw new InvalidEndpointError(`invalid hostname "${host}"${hint}`, input);
  }
  return h.toLowerCase().replace(/\.$/, "");
}

function normalizeIpv6(host: string, h: string, bracketed: boolean, input: unknown): string {
  if (!h.includes(":")) {
    throw new InvalidEndpointError(`invalid host "${host}": brackets are for IPv6 addresses only`, input);
  }
  const percent = h.indexOf("%");
  if (percent !== -1) {
    const zone = h.slice(percent + 1).replace(bracketed ? /^25(?=.)/ : /^$/, "");
    throw new InvalidEndpointError(`invalid IPv6 address "${host}": IPv6 zone ids (%${zone}) are not supported`, input);
  }
  // The URL parser would drop tabs and newlines: check the characters first.
  if (IPV6_TEXT.test(h)) {
    try {
      // Validates and canonicalizes (RFC 5952: lower case, longest zero run as ::).
      return new URL(`http://[${h}]/`).hostname.slice(1, -1);
    } catch {
      // reported below
    }
  }
  throw new InvalidEndpointError(`invalid IPv6 address "${host}"`, input);
}

function checkInteger(value: unknown, field: string, min: number, max: number, input: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in ${min}..${max}`;
    throw new InvalidEndpointError(`${field} must be ${range}, got ${show(value)}`, input);
  }
  return value + 0; // -0 -> 0
}
