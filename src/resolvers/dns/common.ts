import type { Resolver as NodeDnsResolver } from "node:dns/promises";
import { isIP } from "node:net";
import type { Clock } from "../../clock.js";
import { endpoint } from "../../endpoint.js";
import { InvalidConfigError, show } from "../../errors.js";
import type { DnsErrorContext } from "./error.js";
import { DnsError, dnsErrorFrom } from "./error.js";

export {
  checkBoolean,
  checkClock,
  checkInteger,
  checkInterval,
  checkNumber,
  checkOptions,
  checkRandom,
} from "../../options.js";

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
    throw new InvalidConfigError(option, `a DNS name is required, got ${show(name)}`);
  }
  const trimmed = name.trim().replace(/\.$/, "");
  if (trimmed.length > 253 || !trimmed.split(".").every((label) => LABEL.test(label))) {
    throw new InvalidConfigError(option, `${show(name)} is not a valid DNS name`);
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
    if (typeof entry !== "string") throw new InvalidConfigError("servers", `not an address: ${show(entry)}`);
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
      throw new InvalidConfigError("servers", `${show(entry)} is not "ip", "ip:port" or "[ipv6]:port" (port 1..65535)`);
    }
    return isIP(host) === 6 ? `[${host}]:${n}` : `${host}:${n}`;
  });
}

/** A record type of one address family. */
export type AddressType = "A" | "AAAA";

/**
 * The last addresses each name had in each family, from the last lookup in
 * which that family answered (an empty list for NXDOMAIN/NODATA). With family
 * 0, a family whose lookup fails while the other answers keeps these: a
 * failing AAAA lookup does not drop the IPv6 endpoints of the last good set.
 */
export class AddressMemory {
  readonly #known = new Map<string, { A?: readonly string[]; AAAA?: readonly string[] }>();

  /** The addresses `name` had in the family of `rrtype`, or an empty list. */
  get(name: string, rrtype: AddressType): readonly string[] {
    return this.#known.get(name)?.[rrtype] ?? [];
  }

  set(name: string, rrtype: AddressType, addresses: readonly string[]): void {
    const entry = this.#known.get(name) ?? {};
    entry[rrtype] = addresses;
    this.#known.set(name, entry);
  }

  /** Forgets every name not in `names` (an SRV target that left the answer). */
  keepOnly(names: ReadonlySet<string>): void {
    for (const name of this.#known.keys()) if (!names.has(name)) this.#known.delete(name);
  }
}

/** How `resolveAddresses` waits for the second family and what it remembers. */
export interface AddressLookupOptions {
  /** Clock of the grace timer. */
  readonly clock: Clock;
  /** Family 0: once one family has answered with addresses, wait at most this long (ms) for the other. */
  readonly familyWaitMs: number;
  /** Each family's last answer, kept for a family that fails while the other answers. */
  readonly memory: AddressMemory;
}

/** Addresses of one name, and the smallest TTL among them (seconds). */
export interface ResolvedAddresses {
  readonly addresses: readonly string[];
  readonly ttl: number | undefined;
  /**
   * Family 0 only: the lookup of one family failed while the other answered
   * with addresses. `addresses` then holds the answering family's addresses
   * and the failed family's addresses of its last answer (`kept` of them).
   */
  readonly failure: DnsError | undefined;
  /** How many of `addresses` were kept from the failed family's last answer. */
  readonly kept: number;
}

/** One family's lookup: addresses, no record of the type (NXDOMAIN/NODATA), or a failure. */
type Outcome =
  | { readonly rrtype: AddressType; readonly kind: "answer"; readonly records: readonly AddressRecord[] }
  | { readonly rrtype: AddressType; readonly kind: "none" | "failed"; readonly error: DnsError };

interface AddressRecord {
  readonly address: string;
  readonly ttl: number;
}

/**
 * Resolves `name` to its A and/or AAAA addresses with their TTLs.
 *
 * Family 4 or 6: any failure throws. Family 0 asks for both at once:
 * - both answer: every address; a name with only one of the two is fine;
 *   NXDOMAIN/NODATA for both throws `ERR_DNS_NOT_FOUND`;
 * - one fails (timeout, SERVFAIL, REFUSED...) while the other answers with
 *   addresses: a partial answer, not an error: the answering family's
 *   addresses, plus the failed family's addresses of its last answer
 *   (`memory`), and the failure in `failure`. Once one family has answered
 *   with addresses, the other gets `familyWaitMs` more (on `clock`) before it
 *   counts as timed out: a server that never answers AAAA costs that, not the
 *   whole query timeout (the abandoned query runs on inside `node:dns` until
 *   its own timeout, or until `close()` cancels it);
 * - otherwise (both fail, or one fails and the other has no address): throws
 *   the failure (the A lookup's when both fail).
 */
export async function resolveAddresses(
  dns: NodeDnsResolver,
  name: string,
  family: DnsFamily,
  context: Omit<DnsErrorContext, "rrtype" | "record">,
  options: AddressLookupOptions,
): Promise<ResolvedAddresses> {
  const ask = (rrtype: AddressType): Promise<Outcome> =>
    (rrtype === "A" ? dns.resolve4(name, { ttl: true }) : dns.resolve6(name, { ttl: true })).then(
      (records): Outcome => ({ rrtype, kind: "answer", records }),
      (error: unknown): Outcome => {
        const mapped = dnsErrorFrom(error, { ...context, rrtype, record: name });
        return { rrtype, kind: mapped.code === "ERR_DNS_NOT_FOUND" ? "none" : "failed", error: mapped };
      },
    );
  let outcomes: Outcome[];
  if (family !== 0) {
    outcomes = [await ask(family === 4 ? "A" : "AAAA")];
  } else {
    const a = ask("A");
    const aaaa = ask("AAAA");
    const first = await Promise.race([a, aaaa]);
    const otherType: AddressType = first.rrtype === "A" ? "AAAA" : "A";
    const other = otherType === "A" ? a : aaaa;
    const late = (): Outcome => ({
      rrtype: otherType,
      kind: "failed",
      error: new DnsError(
        "ERR_DNS_TIMEOUT",
        { ...context, rrtype: otherType, record: name },
        `no answer within familyWaitMs (${options.familyWaitMs} ms) of the ${first.rrtype} answer`,
      ),
    });
    const second =
      first.kind === "answer" && first.records.length > 0
        ? await within(other, options.clock, options.familyWaitMs, late)
        : await other;
    outcomes = first.rrtype === "A" ? [first, second] : [second, first];
    for (const o of outcomes) {
      if (o.kind !== "failed") options.memory.set(name, o.rrtype, o.kind === "answer" ? addressesOf(o.records) : []);
    }
  }
  const found = collect(outcomes);
  const failed = outcomes.filter((o) => o.kind === "failed");
  const failure = failed[0]?.kind === "failed" ? failed[0] : undefined;
  if (failure === undefined) {
    if (found.addresses.length > 0) return { ...found, failure: undefined, kept: 0 };
    for (const o of outcomes) if (o.kind === "none" && o.error.dnsCode === "ENOTFOUND") throw o.error;
    const single = outcomes.length === 1 ? outcomes[0] : undefined;
    if (single?.kind === "none") throw single.error;
    throw new DnsError(
      "ERR_DNS_NOT_FOUND",
      { ...context, rrtype: single?.rrtype ?? "A/AAAA", record: name },
      single === undefined ? "no A or AAAA records (NODATA)" : `no ${single.rrtype} records (NODATA)`,
      { dnsCode: "ENODATA" },
    );
  }
  if (failed.length > 1 || found.addresses.length === 0) throw failure.error;
  const kept = options.memory.get(name, failure.rrtype);
  return { addresses: [...found.addresses, ...kept], ttl: found.ttl, failure: failure.error, kept: kept.length };
}

/**
 * The `ERR_DNS_PARTIAL` error of an answer in which, for each entry, one
 * address family failed while the other answered. `rrtype` is the family
 * that failed (`"A/AAAA"` when entries differ), `failures` the lookups that
 * failed, `cause` the first of them. With one entry named `context.record`
 * the message reads
 * `AAAA lookup of "api.test" via ...: partial answer: query refused (REFUSED), EREFUSED; publishing the A addresses`.
 */
export function partialAnswerError(
  context: Omit<DnsErrorContext, "rrtype">,
  entries: readonly { readonly name: string; readonly resolved: ResolvedAddresses }[],
): DnsError {
  const failed = entries.flatMap(({ name, resolved }) =>
    resolved.failure === undefined ? [] : [{ name, failure: resolved.failure, kept: resolved.kept }],
  );
  const types = [...new Set(failed.map((f) => f.failure.rrtype))];
  const rrtype = types.length === 1 ? (types[0] as string) : "A/AAAA";
  const kept = (f: (typeof failed)[number]) =>
    f.kept > 0 ? `, with the ${f.kept} ${f.failure.rrtype} address(es) of its last answer` : "";
  const only = failed.length === 1 ? failed[0] : undefined;
  const detail =
    only !== undefined && only.name === context.record
      ? `partial answer: ${only.failure.detail}; publishing the ${only.failure.rrtype === "A" ? "AAAA" : "A"} addresses${kept(only)}`
      : `partial answer: ${failed.length} name(s) answered in one address family only: ${failed
          .map((f) => `${f.name} ${f.failure.rrtype} ${f.failure.detail}${kept(f)}`)
          .join("; ")}; publishing the other family's addresses`;
  const first = failed[0]?.failure;
  return new DnsError("ERR_DNS_PARTIAL", { ...context, rrtype }, detail, {
    cause: first,
    dnsCode: first?.dnsCode,
    failures: failed.map((f) => f.failure),
  });
}

/** Every address of the answering families, and their smallest TTL. */
function collect(outcomes: readonly Outcome[]): { addresses: string[]; ttl: number | undefined } {
  const addresses: string[] = [];
  let ttl: number | undefined;
  for (const o of outcomes) {
    if (o.kind !== "answer") continue;
    for (const record of o.records) {
      addresses.push(record.address);
      ttl = ttl === undefined ? record.ttl : Math.min(ttl, record.ttl);
    }
  }
  return { addresses, ttl };
}

function addressesOf(records: readonly AddressRecord[]): string[] {
  return records.map((r) => r.address);
}

/** `promise`'s value, or `late()` if `ms` pass first on `clock`. `promise` must not reject. */
function within<T>(promise: Promise<T>, clock: Clock, ms: number, late: () => T): Promise<T> {
  return new Promise<T>((resolve) => {
    const timer = clock.setTimer(() => resolve(late()), ms);
    void promise.then((value) => {
      timer.cancel();
      resolve(value);
    });
  });
}

/** Validates a scheme option by building a probe endpoint with it. */
export function checkScheme(scheme: unknown): string {
  if (scheme === undefined) return "http";
  try {
    return endpoint({ host: "probe", port: 1, scheme: scheme as string }).scheme;
  } catch {
    throw new InvalidConfigError("scheme", `${show(scheme)} is not a valid URL scheme`);
  }
}

/** Validates a `family` option. */
export function checkFamily(family: unknown): DnsFamily {
  if (family === undefined) return 0;
  if (family !== 0 && family !== 4 && family !== 6) {
    throw new InvalidConfigError("family", `must be 0, 4 or 6, got ${show(family)}`);
  }
  return family;
}
