import type { Endpoint } from "../../endpoint.js";
import { endpoint, MAX_WEIGHT, normalizeHost } from "../../endpoint.js";
import type { DroppedRecord } from "./error.js";

/** One SRV record as `node:dns` `resolveSrv()` returns it. */
export interface SrvRecord {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/** How SRV records become endpoints. */
export interface SrvMappingOptions {
  /** Scheme of every endpoint (KrakenD `sd_scheme`). Default `"http"`. */
  readonly scheme?: string;
  /**
   * Weight given to a weight-0 record when another record of the same
   * priority has weight > 0. Default 1: RFC 2782's "very small chance",
   * 1/(sum of weights) of that level's traffic. 0 keeps such records drained.
   * A level whose records all have weight 0 gives each weight 1 (equal shares).
   */
  readonly zeroWeight?: number;
}

/** A usable SRV record, mapped: target, port, priority and (adjusted) weight. */
export interface SrvTarget {
  readonly target: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/**
 * Maps SRV records to targets (RFC 2782): weights go to the balancer as they
 * are — neither expanded into repeated hosts nor dropped as KrakenD does;
 * weight 0 follows `zeroWeight`; target `"."` ("service decidedly not
 * available") yields nothing; records with port 0, a field outside 0..65535 or
 * a target that is not a valid host name are dropped and listed in `dropped`.
 *
 * The result does not depend on record order.
 */
export function srvTargets(
  records: readonly SrvRecord[],
  options: SrvMappingOptions = {},
): { targets: SrvTarget[]; dropped: DroppedRecord[] } {
  const zeroWeight = options.zeroWeight ?? 1;
  const valid: SrvRecord[] = [];
  const dropped: DroppedRecord[] = [];
  for (const r of records) {
    const target = typeof r.name === "string" ? r.name.replace(/\.$/, "") : "";
    if (target === "") continue; // target "." : no service here, by design
    const text = srvRecordText({ ...r, target });
    const reason = !inRange(r.port, 1)
      ? `port ${r.port}`
      : !inRange(r.weight, 0)
        ? `weight ${r.weight} outside 0..${MAX_WEIGHT}`
        : !inRange(r.priority, 0)
          ? `priority ${r.priority} outside 0..65535`
          : undefined;
    const invalidTarget = reason === undefined ? hostnameProblem(target) : undefined;
    if (reason === undefined && invalidTarget === undefined) valid.push({ ...r, name: target });
    else dropped.push({ record: text, reason: reason ?? (invalidTarget as string) });
  }
  const positive = new Set<number>();
  for (const r of valid) if (r.weight > 0) positive.add(r.priority);
  const targets = valid.map((r) => ({
    target: r.name,
    port: r.port,
    priority: r.priority,
    weight: r.weight > 0 ? r.weight : positive.has(r.priority) ? zeroWeight : 1,
  }));
  return { targets, dropped: sortDropped(dropped) };
}

/** SRV records to endpoints with `host` = the target (see `srvTargets` for the mapping and what is dropped). */
export function srvEndpoints(
  records: readonly SrvRecord[],
  options: SrvMappingOptions = {},
): { endpoints: Endpoint[]; dropped: DroppedRecord[] } {
  const { targets, dropped } = srvTargets(records, options);
  const endpoints: Endpoint[] = [];
  for (const t of targets) {
    endpoints.push(
      endpoint({ host: t.target, port: t.port, weight: t.weight, priority: t.priority, scheme: options.scheme }),
    );
  }
  return { endpoints, dropped };
}

/** Why `target` cannot be an endpoint host, or undefined when it can. */
function hostnameProblem(target: string): string | undefined {
  try {
    normalizeHost(target);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function inRange(value: unknown, min: number): boolean {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= 65535;
}

/** A record in presentation form, as `DroppedRecord.record` shows it: `"SRV 10 5 8080 a.example.test"`. */
export function srvRecordText(r: { priority: number; weight: number; port: number; target: string }): string {
  return `SRV ${r.priority} ${r.weight} ${r.port} ${r.target}`;
}

/** Sorts dropped records by their text, so the list does not depend on answer order. */
export function sortDropped(dropped: DroppedRecord[]): DroppedRecord[] {
  return dropped.sort((a, b) => (a.record < b.record ? -1 : a.record > b.record ? 1 : 0));
}
