import { validateHeaderName, validateHeaderValue } from "node:http";
import { isIP } from "node:net";
import { MAX_DELAY } from "../../clock.js";
import type { Endpoint } from "../../endpoint.js";
import { InvalidConfigError, show } from "../../errors.js";
import { checkKnownOptions } from "../../options.js";
import type { StatusSet } from "../http-statuses.js";
import { KONG_ACTIVE_HEALTHY, KONG_ACTIVE_UNHEALTHY, statusSet } from "../http-statuses.js";
import type { ActiveHealthChange, ActiveProbeResult } from "./results.js";

/** How an active probe checks an endpoint (Kong's `healthchecks.active.type`). */
export type ActiveProbeType = "http" | "https" | "tcp";

/** When healthy endpoints are probed and what turns an unhealthy one healthy (Kong's `healthchecks.active.healthy`). */
export interface ActiveHealthyOptions {
  /** Time between probes of a healthy endpoint, ms; 0 = healthy endpoints are not probed. Kong `interval` (s). Default 0. */
  intervalMs?: number;
  /** Successes in a row that make an unhealthy endpoint healthy, 0..255; 0 = off (never). Kong `successes`. Default 0. */
  successes?: number;
  /** Statuses that count as a success. Kong `http_statuses`. Default `[200, 302]`. */
  httpStatuses?: readonly number[];
}

/** When unhealthy endpoints are probed and what turns a healthy one unhealthy (Kong's `healthchecks.active.unhealthy`). */
export interface ActiveUnhealthyOptions {
  /** Time between probes of an unhealthy endpoint, ms; 0 = unhealthy endpoints are not probed. Kong `interval` (s). Default 0. */
  intervalMs?: number;
  /** Statuses from `httpStatuses` (or malformed responses) in a row that make it unhealthy, 0..255; 0 = off. Kong `http_failures`. Default 0. */
  httpFailures?: number;
  /** TCP failures (refused, reset, TLS handshake or certificate) in a row that make it unhealthy, 0..255; 0 = off. Kong `tcp_failures`. Default 0. */
  tcpFailures?: number;
  /** Probe timeouts in a row that make it unhealthy, 0..255; 0 = off. Kong `timeouts`. Default 0. */
  timeouts?: number;
  /** Statuses that count as an HTTP failure. Kong `http_statuses`. Default `[429, 404, 500, 501, 502, 503, 504, 505]`. */
  httpStatuses?: readonly number[];
}

/**
 * Options of `activeHealthChecks()`: Kong's `healthchecks.active.*` fields in
 * camelCase, durations in milliseconds.
 */
export interface ActiveHealthChecksOptions {
  /** The plug-in's name: its ejection reason and snapshot section. Default `"active-health"`. */
  name?: string;
  /** `"http"` (HTTP/1.1 GET), `"https"` (the same over TLS) or `"tcp"` (connect only). Kong `type`. Default `"http"`. */
  type?: ActiveProbeType;
  /** The whole probe, connect to status line, in ms (a Clock timer). Kong `timeout` (1 s). Default 1000. */
  timeoutMs?: number;
  /** Probes in flight at most; the rest wait in line. Kong `concurrency`. Default 10. */
  concurrency?: number;
  /** Path of the GET, starting with `/`. Kong `http_path`. Default `"/"`. */
  httpPath?: string;
  /** Extra request headers: a value or a list of values per name (Kong: name → array of values). A `host` entry replaces the default Host. */
  headers?: Readonly<Record<string, string | readonly string[]>>;
  /** Verify the server's certificate (and its name) for `"https"`; a failure counts as a TCP failure. Kong `https_verify_certificate`. Default true. */
  httpsVerifyCertificate?: boolean;
  /** TLS server name to send for `"https"`. Kong `https_sni`. Default the endpoint's hostname, none for an IP address. */
  httpsSni?: string;
  /** Healthy side: interval, successes, statuses. */
  healthy?: ActiveHealthyOptions;
  /** Unhealthy side: interval, failure thresholds, statuses. */
  unhealthy?: ActiveUnhealthyOptions;
  /**
   * Random extra delay added to each interval, as a fraction of it, drawn
   * from the upstream's `Random` (Envoy's `interval_jitter_percent`): a
   * probe comes `interval × (1 + jitter × r)` after the last one ended, r in
   * [0, 1). An endpoint's first probe comes `interval × jitter × r` after it
   * joins. 0..1. Default 0.1.
   */
  jitter?: number;
  /** Called when an endpoint turns healthy or unhealthy. */
  onHealthChange?: (endpoint: Endpoint, change: ActiveHealthChange) => void;
  /** Called with every probe's result (for logs and metrics). */
  onProbe?: (endpoint: Endpoint, result: ActiveProbeResult) => void;
}

/** Kong's `type`, as a number. @internal */
export const HTTP = 0;
/** @internal */
export const HTTPS = 1;
/** @internal */
export const TCP = 2;
const TYPES: readonly ActiveProbeType[] = ["http", "https", "tcp"];

/** Validated options. @internal */
export interface ActiveConfig {
  readonly name: string;
  readonly type: number;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly httpPath: string;
  /** Lower-case names; a `host` entry replaces the default Host. */
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly verify: boolean;
  readonly sni: string | undefined;
  readonly jitter: number;
  readonly healthyIntervalMs: number;
  readonly unhealthyIntervalMs: number;
  /** Thresholds by counter: successes, HTTP failures, TCP failures, timeouts (see counters.ts). */
  readonly thresholds: Uint8Array;
  readonly healthyStatuses: StatusSet;
  readonly unhealthyStatuses: StatusSet;
  readonly onHealthChange: ActiveHealthChecksOptions["onHealthChange"];
  readonly onProbe: ActiveHealthChecksOptions["onProbe"];
}

const TOP = [
  "name",
  "type",
  "timeoutMs",
  "concurrency",
  "httpPath",
  "headers",
  "httpsVerifyCertificate",
  "httpsSni",
  "healthy",
  "unhealthy",
  "jitter",
  "onHealthChange",
  "onProbe",
];
const HEALTHY = ["intervalMs", "successes", "httpStatuses"];
const FACTORY = "activeHealthChecks()";
const UNHEALTHY = ["intervalMs", "httpFailures", "tcpFailures", "timeouts", "httpStatuses"];
/** Headers every probe sets itself. */
const RESERVED_HEADERS = new Set(["connection", "content-length", "transfer-encoding"]);
const PATH = /^\/[\x21-\x7e]*$/;

/**
 * Validates `activeHealthChecks()` options (Kong's defaults where silent).
 * @throws InvalidConfigError naming the option path, e.g. `"unhealthy.httpStatuses"`.
 * @internal
 */
export function activeConfig(options: unknown): ActiveConfig {
  const o = checkKnownOptions<Record<string, unknown>>(options, FACTORY, TOP);
  const healthy = checkKnownOptions<Record<string, unknown>>(o.healthy, FACTORY, HEALTHY, "healthy");
  const unhealthy = checkKnownOptions<Record<string, unknown>>(o.unhealthy, FACTORY, UNHEALTHY, "unhealthy");
  const name = o.name ?? "active-health";
  if (typeof name !== "string" || name === "") {
    throw new InvalidConfigError("name", `must be a non-empty string, got ${show(name)}`);
  }
  const type = TYPES.indexOf((o.type ?? "http") as ActiveProbeType);
  if (type < 0) {
    throw new InvalidConfigError(
      "type",
      `must be "http", "https" or "tcp", got ${show(o.type)} (Kong's "grpc" and "grpcs" probes are not supported)`,
    );
  }
  const healthyIntervalMs = interval("healthy.intervalMs", healthy.intervalMs);
  const unhealthyIntervalMs = interval("unhealthy.intervalMs", unhealthy.intervalMs);
  if (healthyIntervalMs === 0 && unhealthyIntervalMs === 0) {
    throw new InvalidConfigError(
      "healthy.intervalMs",
      "healthy.intervalMs and unhealthy.intervalMs are both 0 (Kong's default: active checks off), so nothing would ever be probed; set healthy.intervalMs",
    );
  }
  const timeoutMs = o.timeoutMs ?? 1000;
  if (typeof timeoutMs !== "number" || !(timeoutMs > 0 && timeoutMs <= MAX_DELAY)) {
    throw new InvalidConfigError("timeoutMs", `must be a number of ms > 0 and <= ${MAX_DELAY}, got ${show(timeoutMs)}`);
  }
  const concurrency = o.concurrency ?? 10;
  if (typeof concurrency !== "number" || !Number.isInteger(concurrency) || concurrency < 1 || concurrency > 65535) {
    throw new InvalidConfigError("concurrency", `must be an integer from 1 to 65535, got ${show(concurrency)}`);
  }
  const jitter = o.jitter ?? 0.1;
  if (typeof jitter !== "number" || !(jitter >= 0 && jitter <= 1)) {
    throw new InvalidConfigError(
      "jitter",
      `must be a number from 0 to 1 (a fraction of the interval), got ${show(jitter)}`,
    );
  }
  const httpPath = o.httpPath ?? "/";
  if (typeof httpPath !== "string" || !PATH.test(httpPath)) {
    throw new InvalidConfigError(
      "httpPath",
      `must be a path starting with "/", without spaces or control characters, got ${show(httpPath)}`,
    );
  }
  const verify = o.httpsVerifyCertificate ?? true;
  if (typeof verify !== "boolean") {
    throw new InvalidConfigError("httpsVerifyCertificate", `must be true or false, got ${show(verify)}`);
  }
  const sni = o.httpsSni;
  if (sni !== undefined && (typeof sni !== "string" || !/^[A-Za-z0-9._-]{1,253}$/.test(sni) || isIP(sni) !== 0)) {
    throw new InvalidConfigError("httpsSni", `must be a host name (not an IP address), got ${show(sni)}`);
  }
  for (const key of ["onHealthChange", "onProbe"] as const) {
    if (o[key] !== undefined && typeof o[key] !== "function") {
      throw new InvalidConfigError(
        key,
        `must be a function (endpoint, ${key === "onProbe" ? "result" : "change"}) => void`,
      );
    }
  }
  const thresholds = new Uint8Array([
    threshold("healthy.successes", healthy.successes),
    threshold("unhealthy.httpFailures", unhealthy.httpFailures),
    threshold("unhealthy.tcpFailures", unhealthy.tcpFailures),
    threshold("unhealthy.timeouts", unhealthy.timeouts),
  ]);
  return {
    name,
    type,
    timeoutMs,
    concurrency,
    httpPath,
    headers: checkHeaders(o.headers),
    verify,
    sni: sni as string | undefined,
    jitter,
    healthyIntervalMs,
    unhealthyIntervalMs,
    thresholds,
    healthyStatuses: statusSet("healthy.httpStatuses", healthy.httpStatuses, KONG_ACTIVE_HEALTHY),
    unhealthyStatuses: statusSet("unhealthy.httpStatuses", unhealthy.httpStatuses, KONG_ACTIVE_UNHEALTHY),
    onHealthChange: o.onHealthChange as ActiveConfig["onHealthChange"],
    onProbe: o.onProbe as ActiveConfig["onProbe"],
  };
}

function interval(option: string, value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== "number" || !(value >= 0 && value <= MAX_DELAY)) {
    throw new InvalidConfigError(
      option,
      `must be a number of ms >= 0 and <= ${MAX_DELAY} (0 = off), got ${show(value)}`,
    );
  }
  return value;
}

/** A counter threshold: Kong's schema takes 0..255 (0 = off). */
function threshold(option: string, value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 255) {
    throw new InvalidConfigError(option, `must be an integer from 0 to 255 (0 = off), got ${show(value)}`);
  }
  return value;
}

function checkHeaders(headers: unknown): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  if (headers === undefined) return out;
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) {
    throw new InvalidConfigError("headers", `must be an object of header values by name, got ${show(headers)}`);
  }
  for (const [name, value] of Object.entries(headers)) {
    const option = `headers.${name}`;
    try {
      validateHeaderName(name);
    } catch {
      throw new InvalidConfigError(option, "is not a valid HTTP header name");
    }
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.has(lower)) {
      throw new InvalidConfigError(option, "is set by the probe itself (a GET with Connection: close)");
    }
    if (lower in out) throw new InvalidConfigError(option, "is given twice (header names are case-insensitive)");
    const values = typeof value === "string" ? [value] : value;
    if (!Array.isArray(values) || values.length === 0 || values.some((v) => typeof v !== "string")) {
      throw new InvalidConfigError(option, `must be a string or a non-empty array of strings, got ${show(value)}`);
    }
    for (const v of values as string[]) {
      try {
        validateHeaderValue(name, v);
      } catch {
        throw new InvalidConfigError(option, `holds an invalid header value (control characters): ${show(v)}`);
      }
    }
    if (lower === "host" && values.length !== 1) throw new InvalidConfigError(option, "must be one value");
    out[lower] = typeof value === "string" ? value : [...(values as string[])];
  }
  return out;
}
