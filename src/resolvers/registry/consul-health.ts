import type { Endpoint } from "../../endpoint.js";
import type { DroppedRecord } from "../refresh/answer.js";
import type { RegistryErrorContext } from "./error.js";
import { RegistryError } from "./error.js";
import { describe, InstanceList, isObject } from "./instances.js";
import type { KnownEndpoints } from "./known-endpoints.js";

/** How `parseConsulHealth` reads an answer. */
export interface ConsulHealthOptions {
  /** Scheme of every endpoint. */
  readonly scheme: string;
  /**
   * True: only instances whose checks all pass (the query asked for
   * `passing`; an instance that is not is left out, in case a proxy
   * ignored the parameter). False: passing and warning instances, critical
   * ones left out (as Consul's DNS interface does by default).
   */
  readonly passingOnly: boolean;
  /** Tags every instance must have (the query's `tag` filter, checked again). */
  readonly tags: readonly string[];
}

/** Consul's default `Weights`: `{ Passing: 1, Warning: 1 }`. */
const DEFAULT_WEIGHT = 1;
const MAX_WEIGHT = 65535;

/**
 * Reads the answer of Consul's `GET /v1/health/service/<name>` (an array of
 * `{ Node, Service, Checks }`) into endpoints:
 *
 * - host: `Service.Address`, or `Node.Address` when it is empty or missing
 *   (Consul's rule); port: `Service.Port`;
 * - weight: `Service.Weights.Passing` (default 1) for an instance whose
 *   checks all pass, `Service.Weights.Warning` (default 1) for one with a
 *   check in `warning` and none `critical`; an instance with a check in any
 *   other state (`critical`, or a status Consul does not document) is left
 *   out;
 * - tags: `Service.Tags`; metadata: the string values of `Service.Meta`.
 *
 * An entry that cannot be an endpoint (no address, a port out of range, a
 * weight out of 0..65535, tags that are not strings, not an object...) is
 * dropped with its reason; two entries with one `host:port` are one
 * endpoint (see `InstanceList`). The endpoints come out sorted by id; an
 * instance equal to one of the previous answer (`known`: its `known`) is
 * that endpoint. Never throws but for a body that is not an array:
 * `ERR_REGISTRY_BODY`.
 */
export function parseConsulHealth(
  body: unknown,
  options: ConsulHealthOptions,
  context: RegistryErrorContext,
  known?: KnownEndpoints,
): { endpoints: Endpoint[]; dropped: DroppedRecord[]; known: KnownEndpoints } {
  if (!Array.isArray(body)) {
    throw new RegistryError(
      "ERR_REGISTRY_BODY",
      context,
      `expected an array of service instances ({ Node, Service, Checks }), got ${describe(body)}`,
    );
  }
  const list = new InstanceList(options.scheme, (i) => consulRecord(body[i], i), known);
  for (let i = 0; i < body.length; i++) addEntry(list, body[i], i, options);
  return list.result();
}

/** An entry as the dropped list shows it: `Service.ID "web-1" on node "n1"`, or `entry 3`. */
function consulRecord(entry: unknown, i: number): string {
  if (!isObject(entry) || !isObject(entry.Service)) return `entry ${i}`;
  const node = isObject(entry.Node) ? entry.Node.Node : undefined;
  return `Service.ID ${describe(entry.Service.ID)} on node ${describe(node)}`;
}

function addEntry(list: InstanceList, entry: unknown, i: number, options: ConsulHealthOptions): void {
  if (!isObject(entry) || !isObject(entry.Service)) {
    list.drop(i, "not an object with a Service object");
    return;
  }
  const service = entry.Service;
  const node = isObject(entry.Node) ? entry.Node : undefined;
  const status = checksStatus(entry.Checks);
  if (status === "critical" || (status === "warning" && options.passingOnly)) return; // not an instance to use
  const tags = service.Tags ?? [];
  if (!Array.isArray(tags) || !allStrings(tags)) {
    list.drop(i, `Service.Tags is ${describe(service.Tags)}, not an array of strings`);
    return;
  }
  for (const tag of options.tags) if (!tags.includes(tag)) return; // filtered out, as the query asked
  if (service.Address != null && typeof service.Address !== "string") {
    list.drop(i, `Service.Address ${describe(service.Address)} is not a string`);
    return;
  }
  const address = nonEmpty(service.Address) ?? nonEmpty(node?.Address);
  if (address === undefined) {
    list.drop(i, `no address: Service.Address ${describe(service.Address)}, Node.Address ${describe(node?.Address)}`);
    return;
  }
  const weights = service.Weights ?? {};
  if (!isObject(weights)) {
    list.drop(i, `Service.Weights is ${describe(weights)}, not an object`);
    return;
  }
  const field = status === "warning" ? "Warning" : "Passing";
  const weight = weights[field] ?? DEFAULT_WEIGHT;
  if (typeof weight !== "number" || !Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
    list.drop(i, `Service.Weights.${field} ${describe(weight)} is not an integer in 0..${MAX_WEIGHT}`);
    return;
  }
  list.add(i, {
    host: address,
    port: service.Port as number,
    weight,
    tags: tags as string[],
    metadata: stringValues(service.Meta) as Record<string, string> | undefined,
  });
}

/**
 * The aggregate state of an instance's checks (node and service checks
 * alike, as Consul's `passing` filter counts them): `critical` if any check
 * is critical or has a state Consul does not document, else `warning` if any
 * is, else `passing` (also with no checks). `Checks` that is not an array
 * counts as no checks.
 */
function checksStatus(checks: unknown): "passing" | "warning" | "critical" {
  if (!Array.isArray(checks)) return "passing";
  let status: "passing" | "warning" = "passing";
  for (const check of checks) {
    const s = isObject(check) ? check.Status : undefined;
    if (s === "passing") continue;
    if (s === "warning") status = "warning";
    else return "critical";
  }
  return status;
}

function allStrings(values: readonly unknown[]): boolean {
  for (let i = 0; i < values.length; i++) if (typeof values[i] !== "string") return false;
  return true;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * The string values of a `Meta` object (Consul's are all strings: then the
 * object itself, which `endpoint()` copies); anything else is no metadata.
 */
function stringValues(meta: unknown): Record<string, unknown> | undefined {
  if (!isObject(meta)) return undefined;
  let strings = true;
  for (const key in meta) {
    if (typeof meta[key] !== "string" || !Object.hasOwn(meta, key)) {
      strings = false;
      break;
    }
  }
  if (strings && Object.getPrototypeOf(meta) === Object.prototype) return meta;
  let out: Record<string, string> | undefined;
  for (const key of Object.keys(meta)) {
    const value = meta[key];
    if (typeof value !== "string") continue;
    out ??= {};
    if (key === "__proto__") Object.defineProperty(out, key, { value, enumerable: true, writable: true });
    else out[key] = value;
  }
  return out;
}
