import { systemClock } from "../clock.js";
import { normalizeHost } from "../endpoint.js";
import { InvalidConfigError, InvalidEndpointError, show } from "../errors.js";
import { checkClock, checkInterval, checkName, checkRandom } from "../options.js";
import { Credentials } from "../resolvers/registry/credentials.js";
import { RegistryError } from "../resolvers/registry/error.js";
import type { RegistryRequest, RegistryResponse } from "../resolvers/registry/http.js";
import { RegistryHttp } from "../resolvers/registry/http.js";
import { baseUrls } from "../resolvers/registry/options.js";
import type { RegistrarOptions } from "./registrar.js";
import { Registrar } from "./registrar.js";

/** Options every HTTP registrar takes (Consul, Kong, Eureka), besides its registry's own. */
export interface HttpRegistrarOptions extends RegistrarOptions {
  /**
   * Headers sent with every request, e.g. `{ authorization: "Bearer ..." }`.
   * Their values are treated as secrets: they never appear in errors or
   * events (only `accept`, `content-type` and `user-agent` values are not
   * redacted from messages).
   */
  headers?: Readonly<Record<string, string>>;
  /** Deadline of each request (connect, answer), ms. Default 5,000. */
  timeoutMs?: number;
  /**
   * The `fetch` to use. Default the global `fetch`, which verifies https
   * certificates against Node's CA store (add a private CA with
   * `NODE_EXTRA_CA_CERTS`).
   */
  fetch?: typeof globalThis.fetch;
  /** Name used in errors. Default `"<registry>:<instance>"`, e.g. `"consul:api-10.0.0.5-8080"`. */
  name?: string;
}

/** Default deadline of a registrar's request, ms. */
export const DEFAULT_REGISTRAR_TIMEOUT_MS = 5_000;
/** Error bodies are quoted, never used: a small cap is plenty. */
const MAX_BODY_BYTES = 1024 * 1024;

/** What a concrete HTTP registrar gives `HttpRegistrar`. Internal. */
export interface HttpRegistrarInit {
  /** The kind of registry, for errors: `"consul"`. */
  readonly registry: string;
  /** The user's options (the shared ones are validated here). */
  readonly options: HttpRegistrarOptions;
  /** The default name: `"consul:api-1"`. */
  readonly defaultName: string;
  /** The option naming the base URLs (`"agents"`), its value, and its default. */
  readonly urls: { readonly option: string; readonly value: unknown; readonly fallback: string };
  /** The registry's token header and the user's `token` option. */
  readonly token?: { readonly header: string; readonly value: unknown };
  /** Time between heartbeats; `undefined` for a registry without them (Kong). */
  readonly heartbeatIntervalMs?: number;
}

/**
 * The base of the HTTP registrars: a `Registrar` whose requests go through
 * the registry resolvers' HTTP layer (`RegistryHttp`): the global `fetch`,
 * credentials in headers only and redacted from every message, a deadline
 * per request on the injected clock, redirects refused, failover between
 * base URLs. Every failed request is a `RegistryError` naming the method
 * and the URL (without credentials).
 */
export abstract class HttpRegistrar extends Registrar {
  /** The kind of registry: `"consul"`, `"kong"`, `"eureka"`. */
  readonly registry: string;
  /** The HTTP layer. */
  protected readonly http: RegistryHttp;

  protected constructor(init: HttpRegistrarInit) {
    const o = init.options;
    const name = checkName(o.name, init.defaultName);
    const timeoutMs = checkInterval(o.timeoutMs, "timeoutMs", DEFAULT_REGISTRAR_TIMEOUT_MS, 2 ** 31 - 1);
    if (o.fetch !== undefined && typeof o.fetch !== "function") {
      throw new InvalidConfigError("fetch", `must be a fetch function, got ${show(o.fetch)}`);
    }
    const clock = checkClock(o.clock);
    const random = checkRandom(o.random);
    const bases = baseUrls(init.urls.value, init.urls.option, init.urls.fallback);
    const credentials = new Credentials(o.headers, init.token, bases.userInfo);
    super({ name, retry: o.retry, clock, random, heartbeatIntervalMs: init.heartbeatIntervalMs });
    this.registry = init.registry;
    const fetch = o.fetch ?? ((input, request) => globalThis.fetch(input, request));
    this.http = new RegistryHttp({
      registry: init.registry,
      resolver: name,
      bases: bases.urls,
      credentials,
      timeoutMs,
      stallFactor: 2,
      maxBodyBytes: MAX_BODY_BYTES,
      clock: clock ?? systemClock,
      fetch,
      onStall: () => {}, // a registrar sends no blocking query
    });
  }

  /** The base URL in use now (the agent, Admin API or server asked), without credentials. */
  get url(): string {
    return this.http.base;
  }

  /** Sends `request`, reading no body. Rejects with a `RegistryError` or the signal's reason. */
  protected send(request: RegistryRequest, signal: AbortSignal): Promise<RegistryResponse> {
    return this.http.send({ ignoreBody: true, ...request }, signal);
  }
}

/** True for a registry's HTTP answer with `status` (and, when given, a body that says `words`). */
export function isAnswer(error: unknown, status: number, words?: RegExp): error is RegistryError {
  return (
    error instanceof RegistryError &&
    error.code === "ERR_REGISTRY_HTTP" &&
    error.status === status &&
    (words === undefined || words.test(error.detail))
  );
}

/**
 * A path segment: percent-encoded, but with `:` kept (legal in a path
 * segment, and how registries write `service:api-1` and `host:port`).
 */
export function segment(text: string): string {
  return encodeURIComponent(text).replaceAll("%3A", ":");
}

/** Checks a required port option: an integer in 1..65535. */
export function checkPort(value: unknown, option: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new InvalidConfigError(option, `must be a port, an integer in 1..65535, got ${show(value)}`);
  }
  return value;
}

/** Checks a required (or, with `optional`, optional) non-empty string option of at most 512 characters. */
export function checkString(value: unknown, option: string, optional: true): string | undefined;
export function checkString(value: unknown, option: string, optional?: false): string;
export function checkString(value: unknown, option: string, optional = false): string | undefined {
  if (value === undefined && optional) return undefined;
  if (typeof value !== "string" || value.trim() === "" || value.length > 512) {
    throw new InvalidConfigError(option, `must be a non-empty string of at most 512 characters, got ${show(value)}`);
  }
  return value;
}

/** Checks a required (or optional) string option that names something in a URL path: no `/`, which registries cannot route. */
export function checkPathName(value: unknown, option: string, optional: true): string | undefined;
export function checkPathName(value: unknown, option: string, optional?: false): string;
export function checkPathName(value: unknown, option: string, optional = false): string | undefined {
  const text = optional ? checkString(value, option, true) : checkString(value, option);
  if (text?.includes("/")) throw new InvalidConfigError(option, `must not contain "/", got ${show(text)}`);
  return text;
}

/** Checks an optional object of string values (metadata). */
export function checkStringMap(value: unknown, option: string): Readonly<Record<string, string>> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidConfigError(option, `must be an object of string values, got ${show(value)}`);
  }
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === "" || typeof v !== "string") {
      throw new InvalidConfigError(option, `must be an object of string values: ${show(key)} is ${show(v)}`);
    }
    out[key] = v;
  }
  return Object.freeze(out);
}

/** Checks an optional array of non-empty strings (tags), each passing `ok`. */
export function checkTags(
  value: unknown,
  option: string,
  ok: (tag: string) => boolean = () => true,
): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > 256) {
    throw new InvalidConfigError(option, `must be an array of tags, got ${show(value)}`);
  }
  for (const tag of value) {
    if (typeof tag !== "string" || tag === "" || !ok(tag)) {
      throw new InvalidConfigError(option, `${show(tag)} is not a valid tag`);
    }
  }
  return Object.freeze([...value]);
}

/** Checks a host option (a name, IPv4 or IPv6 address, as endpoints take them) and returns it normalized. */
export function checkHost(value: unknown, option: string): string {
  try {
    return normalizeHost(value);
  } catch (error) {
    if (error instanceof InvalidEndpointError) throw new InvalidConfigError(option, error.message);
    throw error;
  }
}
