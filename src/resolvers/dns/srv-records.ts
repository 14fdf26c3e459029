import type { Endpoint } from "../../endpoint.js";
import { endpoint, MAX_WEIGHT, normalizeHost } from "../../endpoint.js";
import { InvalidArgumentError, InvalidConfigError, show } from "../../errors.js";
import { checkInteger, checkScheme } from "./common.js";
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
   * priority has weight > 0, 0..65535. Default 1: RFC 2782's "very small
   * chance", 1/(sum of weights) of that level's traffic. 0 keeps such records
   * drained. A level whose records all have weight 0 gives each weight 1
   * (equal shares).
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
 * Validates mapping options: an object or nothing, `zeroWeight` an integer
 * in 0..65535, `scheme` a URL scheme.
 *
 * @throws InvalidConfigError
 */
export function srvMappingOptions(options: unknown): { scheme: string; zeroWeight: number } {
  if (options === undefined) return { scheme: "http", zeroWeight: 1 };
  if (options === null || typeof options !== "object") {
    throw new InvalidConfigError("options", `SRV mapping options must be an object, got ${show(options)}`);
  }
  const o = options as SrvMappingOptions;
  return { scheme: checkScheme(o.scheme), zeroWeight: checkInteger(o.zeroWeight, "zeroWeight", 1, 0, MAX_WEIGHT) };
}

const NOT_A_RECORD = "not an SRV record (an object with name, port, priority and weight)";

/**
 * Maps SRV records to targets (RFC 2782): weights go to the balancer as they
 * are — neither expanded into repeated hosts nor dropped as KrakenD does;
 * weight 0 follows `zeroWeight`; target `"."` (or `""`, as `node:dns`
 * reports it: "service decidedly not available") yields nothing; any other
 * record that cannot be an endpoint is dropped and listed in `dropped` with
 * the reason: not an object, a target that is not a string or not a valid
 * host name, port 0, a field that is not an integer in 0..65535. Every
 * record is thus a target, a `"."`, or listed in `dropped`.
 *
 * The result does not depend on record order.
 *
 * @throws InvalidArgumentError when `records` is not an array.
 * @throws InvalidConfigError on invalid options (see `srvMappingOptions`).
 */
export function srvTargets(
  records: readonly SrvRecord[],
  options?: SrvMappingOptions,
): { targets: SrvTarget[]; dropped: DroppedRecord[] } {
  const { zeroWeight } = srvMappingOptions(options);
  if (!Array.isArray(records)) {
    throw new InvalidArgumentError("records", `must be an array of SRV records, got ${show(records)}`);
  }
  const valid: SrvTarget[] = [];
  const dropped: DroppedRecord[] = [];
  for (let i = 0; i < records.length; i++) {
    const fields = readRecord(records[i]);
    if (fields === undefined) {
      dropped.push({ record: show(records[i]), reason: NOT_A_RECORD });
      continue;
    }
    const { name, port, priority, weight } = fields;
    const target = typeof name === "string" ? name.replace(/\.$/, "") : undefined;
    if (target === "") continue; // target "." : no service here, by design
    const text = `SRV ${field(priority)} ${field(weight)} ${field(port)} ${target ?? show(name)}`;
    const reason =
      target === undefined
        ? `target ${show(name)} is not a string`
        : !inRange(port, 1)
          ? `port ${field(port)}`
          : !inRange(weight, 0)
            ? `weight ${field(weight)} outside 0..${MAX_WEIGHT}`
            : !inRange(priority, 0)
              ? `priority ${field(priority)} outside 0..65535`
              : hostnameProblem(target);
    if (reason === undefined) {
      valid.push({
        target: target as string,
        port: port as number,
        priority: priority as number,
        weight: weight as number,
      });
    } else {
      dropped.push({ record: text, reason });
    }
  }
  const positive = new Set<number>();
  for (const r of valid) if (r.weight > 0) positive.add(r.priority);
  const targets = valid.map((r) => ({
    ...r,
    weight: r.weight > 0 ? r.weight : positive.has(r.priority) ? zeroWeight : 1,
  }));
  return { targets, dropped: sortDropped(dropped) };
}

/**
 * SRV records to endpoints with `host` = the target (see `srvTargets` for the
 * mapping and what is dropped).
 *
 * @throws InvalidArgumentError when `records` is not an array.
 * @throws InvalidConfigError on invalid options.
 */
export function srvEndpoints(
  records: readonly SrvRecord[],
  options?: SrvMappingOptions,
): { endpoints: Endpoint[]; dropped: DroppedRecord[] } {
  const { scheme } = srvMappingOptions(options);
  const { targets, dropped } = srvTargets(records, options);
  const endpoints: Endpoint[] = [];
  for (const t of targets) {
    endpoints.push(endpoint({ host: t.target, port: t.port, weight: t.weight, priority: t.priority, scheme }));
  }
  return { endpoints, dropped };
}

/**
 * Splits each SRV target's weight across its addresses (`resolveTargets`),
 * so that a target's share of its priority level is its SRV weight however
 * many addresses it has. Returns, per target, the weight of each of its
 * `addresses` addresses, in order (callers sort the addresses, so the
 * result does not depend on answer order).
 *
 * Per priority level, with `k` the smallest whole factor that gives every
 * address of a target of weight > 0 at least 1 (the largest
 * ceil(addresses / weight)), capped so that no weight exceeds 65535:
 * a target's weights sum to exactly `weight × k`, as `floor(weight × k /
 * addresses)` each and one more for the first `weight × k mod addresses`.
 * Every target of the level is scaled by the same `k`, so shares are exact.
 * An address gets 0 only when its target has weight 0, or when the cap
 * stops `k` short (a level with weight 65535 beside a weight-1 target of two
 * addresses: 65535 and 1 + 0).
 *
 * Examples: weight 5 over 3 addresses → 2, 2, 1. Weight 1 over 2 addresses
 * beside a weight-2 target of 1 address → k = 2: 1, 1 and 4 (1:2 kept).
 */
export function splitWeights(
  targets: readonly { readonly priority: number; readonly weight: number; readonly addresses: number }[],
): number[][] {
  const factor = new Map<number, { need: number; max: number }>();
  for (const t of targets) {
    if (t.weight <= 0 || t.addresses <= 0) continue;
    const level = factor.get(t.priority) ?? { need: 1, max: 0 };
    level.need = Math.max(level.need, Math.ceil(t.addresses / t.weight));
    level.max = Math.max(level.max, t.weight);
    factor.set(t.priority, level);
  }
  return targets.map((t) => {
    const level = factor.get(t.priority);
    const k = level === undefined ? 1 : Math.max(1, Math.min(level.need, Math.floor(MAX_WEIGHT / level.max)));
    const total = t.weight * k;
    const n = Math.max(0, t.addresses);
    const base = Math.floor(total / n);
    const extra = total - base * n;
    return Array.from({ length: n }, (_, i) => base + (i < extra ? 1 : 0));
  });
}

/** The fields of a record, read once; undefined when it is not an object or reading it throws. */
function readRecord(r: unknown): { name: unknown; port: unknown; priority: unknown; weight: unknown } | undefined {
  if (r === null || typeof r !== "object") return undefined;
  try {
    const { name, port, priority, weight } = r as Record<string, unknown>;
    return { name, port, priority, weight };
  } catch {
    return undefined;
  }
}

/** A numeric field as the record text shows it: numbers as they print, anything else by `show`. */
function field(value: unknown): string {
  return typeof value === "number" ? String(value) : show(value);
}

/** Why `target` cannot be an endpoint host, or undefined when it can. */
function hostnameProblem(target: string): string | undefined {
  try {
    normalizeHost(target);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : "invalid host";
  }
}

function inRange(value: unknown, min: number): boolean {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= 65535;
}

/** A record in presentation form, as `DroppedRecord.record` shows it: `"SRV 10 5 8080 a.example.test"`. */
export function srvRecordText(r: { priority: number; weight: number; port: number; target: string }): string {
  return `SRV ${r.priority} ${r.weight} ${r.port} ${r.target}`;
}

/** Sorts dropped records by their text, then reason, so the list does not depend on answer order. */
export function sortDropped(dropped: DroppedRecord[]): DroppedRecord[] {
  const key = (d: DroppedRecord) => `${d.record}\n${d.reason}`;
  return dropped.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
