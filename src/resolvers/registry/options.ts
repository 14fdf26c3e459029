import { normalizeScheme } from "../../endpoint.js";
import { InvalidConfigError, show } from "../../errors.js";
import { checkInteger, checkInterval, checkName } from "../../options.js";
import type { RefreshOptions } from "../refresh/options.js";
import { parseBaseUrl } from "./credentials.js";

/** Options every HTTP registry resolver takes (Consul, Kong, generic JSON), besides the refresh options. */
export interface RegistryResolverOptions extends RefreshOptions {
  /**
   * Headers sent with every request, e.g. `{ authorization: "Bearer ..." }`.
   * Their values are treated as secrets: they never appear in errors,
   * events or snapshots (only `accept`, `content-type` and `user-agent`
   * values are not redacted from messages).
   */
  headers?: Readonly<Record<string, string>>;
  /** Deadline of each request (connect, answer, whole body), ms. Default 10,000. */
  timeoutMs?: number;
  /** Largest body accepted, bytes (counted after decompression). Default 16 MiB (16,777,216). */
  maxBodyBytes?: number;
  /**
   * The `fetch` to use. Default the global `fetch`, which verifies https
   * certificates against Node's CA store (add a private CA with
   * `NODE_EXTRA_CA_CERTS`); there is no option to turn verification off.
   */
  fetch?: typeof globalThis.fetch;
  /** Closes the resolver when it aborts (its requests are cancelled, its timers cleared). */
  signal?: AbortSignal;
  /** Scheme of every endpoint (KrakenD `sd_scheme`). Default `"http"`. */
  scheme?: string;
  /** Name used in errors and snapshots. Default `"<registry>:<service>"`. */
  name?: string;
}

/** Defaults of the shared registry options. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** 16 MiB: a 10,000-instance Consul answer in the documented shape is about 8.4 MB. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

/** The shared registry options, validated. Internal. */
export interface RegistrySettings {
  readonly name: string;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  readonly fetch: typeof globalThis.fetch;
  readonly signal: AbortSignal | undefined;
  readonly scheme: string;
}

/**
 * Validates the shared registry options (not the refresh options).
 *
 * @throws InvalidConfigError naming the option.
 */
export function registrySettings(o: Partial<RegistryResolverOptions>, defaultName: string): RegistrySettings {
  const name = checkName(o.name, defaultName);
  const timeoutMs = checkInterval(o.timeoutMs, "timeoutMs", DEFAULT_TIMEOUT_MS);
  const maxBodyBytes = checkInteger(o.maxBodyBytes, "maxBodyBytes", DEFAULT_MAX_BODY_BYTES, 1, 2 ** 31 - 1);
  if (o.fetch !== undefined && typeof o.fetch !== "function") {
    throw new InvalidConfigError("fetch", `must be a fetch function, got ${show(o.fetch)}`);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new InvalidConfigError("signal", `must be an AbortSignal, got ${show(o.signal)}`);
  }
  const scheme = o.scheme === undefined ? "http" : normalizeScheme(o.scheme);
  if (scheme === undefined) {
    throw new InvalidConfigError("scheme", `must be a URL scheme such as "http" or "https", got ${show(o.scheme)}`);
  }
  return {
    name,
    timeoutMs,
    maxBodyBytes,
    // Read at each resolver's creation, not at import: a test or polyfill may replace it.
    fetch: o.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    signal: o.signal,
    scheme,
  };
}

/**
 * Parses one base URL or a non-empty list of them (agents to fail over
 * between). All must share their user info, if any.
 *
 * @throws InvalidConfigError naming `option`.
 */
export function baseUrls(
  value: unknown,
  option: string,
  fallback: string | undefined,
  exact = false,
): { urls: URL[]; userInfo: [string, string] } {
  const list = value === undefined && fallback !== undefined ? [fallback] : typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || list.length > 64) {
    throw new InvalidConfigError(option, "must be a URL or a non-empty array of at most 64 URLs");
  }
  const parsed = list.map((entry: unknown) => parseBaseUrl(entry, option, exact));
  const userInfo = (parsed[0] as (typeof parsed)[number]).userInfo;
  if (parsed.some((p) => p.userInfo[0] !== userInfo[0] || p.userInfo[1] !== userInfo[1])) {
    throw new InvalidConfigError(option, "every URL must carry the same user info (or use the headers option)");
  }
  return { urls: parsed.map((p) => p.url), userInfo };
}

/** Checks an optional non-empty string option that goes into a URL. */
export function checkText(value: unknown, option: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.trim() === "" || value.length > 512) {
    throw new InvalidConfigError(option, `must be a non-empty string of at most 512 characters, got ${show(value)}`);
  }
  return value;
}
