import { ResolverError } from "../../errors.js";
import type { DroppedRecord } from "../refresh/answer.js";

export type { DroppedRecord } from "../refresh/answer.js";

/**
 * Stable codes of `DnsError`:
 * - `ERR_DNS_NOT_FOUND`: NXDOMAIN (`ENOTFOUND`), no record of the type
 *   (`ENODATA`), or only SRV records with target `"."` (RFC 2782: service
 *   decidedly not available).
 * - `ERR_DNS_TIMEOUT`: no answer within `timeoutMs` × `tries`.
 * - `ERR_DNS_SERVFAIL`: the server answered SERVFAIL.
 * - `ERR_DNS_REFUSED`: the server answered REFUSED.
 * - `ERR_DNS_LOOKUP`: any other failure (connection refused, bad response...).
 * - `ERR_DNS_INVALID_RECORD`: records that cannot become endpoints (port 0,
 *   a malformed target, out-of-range fields) were dropped.
 * - `ERR_DNS_PARTIAL`: with `family` 0, one address family's lookup failed
 *   while the other answered; the answer was published without it (see
 *   `DnsError.failures`).
 */
export type DnsErrorCode =
  | "ERR_DNS_NOT_FOUND"
  | "ERR_DNS_TIMEOUT"
  | "ERR_DNS_SERVFAIL"
  | "ERR_DNS_REFUSED"
  | "ERR_DNS_LOOKUP"
  | "ERR_DNS_INVALID_RECORD"
  | "ERR_DNS_PARTIAL";

/** Where a DNS error happened: the resolver, the record looked up and the servers asked. */
export interface DnsErrorContext {
  /** The resolver's `name`. */
  readonly resolver: string;
  /** Record type asked: `"SRV"`, `"A"` or `"AAAA"`. */
  readonly rrtype: string;
  /** The name looked up, e.g. `"_http._tcp.api.test"`. */
  readonly record: string;
  /** The DNS servers asked, as `node:dns` `getServers()` lists them (`"10.0.0.1"`, `"127.0.0.1:8600"`). */
  readonly servers: readonly string[];
}

/**
 * A DNS lookup failed, or its answer held records that cannot be used. A
 * `ResolverError` with a `DnsErrorCode`; its message names the record, the
 * record type and the servers asked. The resolver keeps its last good set.
 */
export class DnsError extends ResolverError {
  declare readonly code: DnsErrorCode;
  /** Record type asked: `"SRV"`, `"A"` or `"AAAA"`. */
  readonly rrtype: string;
  /** The name looked up. */
  readonly record: string;
  /** The DNS servers asked, as `node:dns` `getServers()` lists them. */
  readonly servers: readonly string[];
  /** `node:dns`'s own code (`ENOTFOUND`, `ETIMEOUT`...), when it reported one. */
  readonly dnsCode: string | undefined;
  /** For `ERR_DNS_INVALID_RECORD`: the records left out. */
  readonly dropped: readonly DroppedRecord[];
  /**
   * For `ERR_DNS_PARTIAL`: the lookups that failed, one per name and family
   * (`rrtype` `"A"` or `"AAAA"`, `record` the name, their own `code`).
   */
  readonly failures: readonly DnsError[];
  /** What went wrong, without the resolver, record and servers. */
  readonly detail: string;

  constructor(
    code: DnsErrorCode,
    context: DnsErrorContext,
    detail: string,
    options?: {
      cause?: unknown;
      dnsCode?: string;
      dropped?: readonly DroppedRecord[];
      failures?: readonly DnsError[];
    },
  ) {
    super(
      context.resolver,
      `${context.rrtype} lookup of "${context.record}" via ${context.servers.join(", ") || "the system resolver"}: ${detail}`,
      { cause: options?.cause, code },
    );
    this.rrtype = context.rrtype;
    this.record = context.record;
    this.servers = context.servers;
    this.dnsCode = options?.dnsCode;
    this.dropped = options?.dropped ?? [];
    this.failures = options?.failures ?? [];
    this.detail = detail;
  }

  /**
   * True for failures worth retrying within the refresh, after a backoff (timeouts, SERVFAIL, REFUSED,
   * connection errors); false for answers (not found, invalid records) and for a partial answer, which is
   * published at once.
   */
  get retryable(): boolean {
    return (
      this.code !== "ERR_DNS_NOT_FOUND" &&
      this.code !== "ERR_DNS_INVALID_RECORD" &&
      this.code !== "ERR_DNS_PARTIAL" &&
      this.dnsCode !== "ECANCELLED"
    );
  }
}

const NODE_CODES: Readonly<Record<string, [DnsErrorCode, string]>> = {
  ENOTFOUND: ["ERR_DNS_NOT_FOUND", "not found (NXDOMAIN)"],
  ENODATA: ["ERR_DNS_NOT_FOUND", "no records of this type (NODATA)"],
  ETIMEOUT: ["ERR_DNS_TIMEOUT", "timed out"],
  ESERVFAIL: ["ERR_DNS_SERVFAIL", "server failure (SERVFAIL)"],
  EREFUSED: ["ERR_DNS_REFUSED", "query refused (REFUSED)"],
  ECONNREFUSED: ["ERR_DNS_LOOKUP", "connection refused"],
};

/** Maps a `node:dns` rejection to a `DnsError` with a stable code. */
export function dnsErrorFrom(error: unknown, context: DnsErrorContext): DnsError {
  if (error instanceof DnsError) return error;
  const nodeCode =
    typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : undefined;
  const known = nodeCode === undefined ? undefined : NODE_CODES[nodeCode];
  const [code, text] = known ?? [
    "ERR_DNS_LOOKUP",
    `lookup failed (${nodeCode ?? (error instanceof Error ? error.message : String(error))})`,
  ];
  return new DnsError(code, context, nodeCode !== undefined && known !== undefined ? `${text}, ${nodeCode}` : text, {
    cause: error,
    dnsCode: nodeCode,
  });
}
