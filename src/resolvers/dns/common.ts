import type { Resolver as NodeDnsResolver } from "node:dns/promises";
import { isIP } from "node:net";
import { endpoint } from "../../endpoint.js";
import { InvalidConfigError } from "../../errors.js";
import type { DnsErrorContext } from "./error.js";
import { DnsError, dnsErrorFrom } from "./error.js";

/** Address family to resolve: 4 (A), 6 (AAAA), or 0 (both, as `dns.lookup`). */
export type DnsFamily = 0 | 4 | 6;

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/**
 * Validates a DNS name (labels of 1..63 letters, digits, `-` or `_`, at most
 * 253 characters, an optional trailing dot) and returns it lower-cased without
 * the trailing dot.
 *
 * @throws InvalidConfigError
 */
export function checkDnsName(name: unknown, option: string): string {
  if (typeof name !== "string" || name.trim() === "") {
    throw new InvalidConfigError(option, `a DNS name is required, got ${JSON.stringify(name)}`);
  }
  const trimmed = name.trim().replace(/\.$/, "");
  if (trimmed.length > 253 || !trimmed.split(".").every((label) => LABEL.test(label))) {
    throw new InvalidConfigError(option, `"${name}" is not a valid DNS name`);
  }
  return trimmed.toLowerCase();
}

/**
 * Parses the `servers` option: `"127.0.0.1:8600"`, `"10.0.0.2"` (port 53),
 * `"[::1]:53"`, `"::1"`, or an array of them. Addresses only: a DNS server is
 * reached before any name can be resolved.
 *
 * @throws InvalidConfigError
 */
export function parseServers(servers: unknown): string[] {
  const list = typeof servers === "string" ? [servers] : servers;
  if (!Array.isArray(list) || list.length === 0) {
    throw new InvalidConfigError("servers", "must be an address or a non-empty array of addresses");
  }
  return list.map((entry: unknown) => {
    if (typeof entry !== "string") throw new InvalidConfigError("servers", `not an address: ${String(entry)}`);
    const text = entry.trim();
    let host = text;
    let port = "53";
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
    if (bracketed) {
      host = bracketed[1] as string;
      port = bracketed[2] ?? "53";
    } else if (isIP(text) === 0) {
      const i = text.lastIndexOf(":");
      if (i > 0) {
        host = text.slice(0, i);
        port = text.slice(i + 1);
      }
    }
    const n = Number(port);
    if (isIP(host) === 0 || !/^\d+$/.test(port) || n < 1 || n > 65535) {
      throw new InvalidConfigError("servers", `"${entry}" is not "ip", "ip:port" or "[ipv6]:port" (port 1..65535)`);
    }
    return isIP(host) === 6 ? `[${host}]:${n}` : `${host}:${n}`;
  });
}

/** Checks an optional number option: finite and within `min..max`. */
export function checkNumber(value: unknown, option: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`;
    throw new InvalidConfigError(option, `must be a number ${range}, got ${String(value)}`);
  }
  return value;
}

/** Checks an integer option within `min..max`: optional with a `fallback`, required without one. */
export function checkInteger(
  value: unknown,
  option: string,
  fallback: number | undefined,
  min: number,
  max: number,
): number {
  if (value === undefined && fallback === undefined) {
    throw new InvalidConfigError(option, `is required: an integer in ${min}..${max}`);
  }
  const n = checkNumber(value, option, fallback as number, min, max);
  if (!Number.isInteger(n)) throw new InvalidConfigError(option, `must be an integer, got ${n}`);
  return n;
}

/** Checks an optional positive interval option (ms), rejecting 0 and negatives. */
export function checkInterval(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new InvalidConfigError(option, `must be a number of milliseconds > 0, got ${String(value)}`);
  }
  return value;
}

/** Addresses of one name, and the smallest TTL among them (seconds). */
export interface ResolvedAddresses {
  readonly addresses: readonly string[];
  readonly ttl: number | undefined;
}

/**
 * Resolves `name` to its A and/or AAAA addresses with their TTLs. With family
 * 0, a name with only one of the two is fine; NODATA/NXDOMAIN for both throws
 * `ERR_DNS_NOT_FOUND`; any other failure of either lookup throws, so a caller
 * never sees half an answer.
 */
export async function resolveAddresses(
  dns: NodeDnsResolver,
  name: string,
  family: DnsFamily,
  context: Omit<DnsErrorContext, "rrtype" | "record">,
): Promise<ResolvedAddresses> {
  const lookups: Promise<{ address: string; ttl: number }[] | undefined>[] = [];
  let notFound: DnsError | undefined;
  const ask = (rrtype: "A" | "AAAA") => {
    const query = rrtype === "A" ? dns.resolve4(name, { ttl: true }) : dns.resolve6(name, { ttl: true });
    return query.catch((error: unknown) => {
      const mapped = dnsErrorFrom(error, { ...context, rrtype, record: name });
      if (mapped.code !== "ERR_DNS_NOT_FOUND" || family !== 0) throw mapped;
      notFound ??= mapped;
      return undefined;
    });
  };
  if (family !== 6) lookups.push(ask("A"));
  if (family !== 4) lookups.push(ask("AAAA"));
  const results = await Promise.allSettled(lookups);
  const addresses: string[] = [];
  let ttl: number | undefined;
  for (const result of results) {
    if (result.status === "rejected") throw result.reason;
    for (const record of result.value ?? []) {
      addresses.push(record.address);
      ttl = ttl === undefined ? record.ttl : Math.min(ttl, record.ttl);
    }
  }
  if (addresses.length === 0) {
    if (notFound?.dnsCode === "ENOTFOUND") throw notFound;
    throw new DnsError(
      "ERR_DNS_NOT_FOUND",
      { ...context, rrtype: "A/AAAA", record: name },
      "no A or AAAA records (NODATA)",
      { dnsCode: "ENODATA" },
    );
  }
  return { addresses, ttl };
}

/** Validates a scheme option by building a probe endpoint with it. */
export function checkScheme(scheme: unknown): string {
  if (scheme === undefined) return "http";
  try {
    return endpoint({ host: "probe", port: 1, scheme: scheme as string }).scheme;
  } catch {
    throw new InvalidConfigError("scheme", `"${String(scheme)}" is not a valid URL scheme`);
  }
}

/** Validates a `family` option. */
export function checkFamily(family: unknown): DnsFamily {
  if (family === undefined) return 0;
  if (family !== 0 && family !== 4 && family !== 6) throw new InvalidConfigError("family", "must be 0, 4 or 6");
  return family;
}
