import type { Endpoint, EndpointInput } from "../../endpoint.js";
import type { DroppedRecord } from "../refresh/answer.js";
import type { RegistryErrorContext } from "./error.js";
import { RegistryError } from "./error.js";
import { describe, InstanceList, isObject } from "./instances.js";
import type { KnownEndpoints } from "./known-endpoints.js";
import { stringMap } from "./string-map.js";

/**
 * Reading Kubernetes EndpointSlices (`discovery.k8s.io/v1`): one slice, a
 * list of them (`EndpointSliceList`), and the events of a watch.
 * @module
 */

/** Which endpoints of a slice are used. */
export type SliceCondition = "ready" | "serving";

/** How slices are read. */
export interface SliceOptions {
  /** Scheme of every endpoint. */
  readonly scheme: string;
  /**
   * The port: a name (the slice's TCP port of that name), a number (that
   * port, whatever the slice lists), or `undefined` (the slice's only TCP
   * port).
   */
  readonly port: string | number | undefined;
  /**
   * `"ready"`: endpoints whose `conditions.ready` is not false. `"serving"`:
   * endpoints whose `conditions.serving` is not false and whose
   * `conditions.terminating` is not true. A missing `ready` or `serving`
   * means true, a missing `terminating` false (the API's rules).
   */
  readonly condition: SliceCondition;
}

/** One EndpointSlice, read. */
export interface ParsedSlice {
  /** `metadata.name`: a slice's identity within its namespace. */
  readonly name: string;
  /** `addressType`: `"IPv4"`, `"IPv6"`, `"FQDN"` (deprecated; its endpoints are not used) or what the API sent. */
  readonly addressType: string;
  /** The endpoints used (by the condition), each valid and listed once. */
  readonly endpoints: readonly Endpoint[];
  /** What could not be used: the whole slice (no such port) or single endpoints. */
  readonly dropped: readonly DroppedRecord[];
  /** Its endpoints as the next version of the slice reuses them (`InstanceList`); absent when it has none. */
  readonly known?: KnownEndpoints | undefined;
}

/** One event of a watch, read. */
export type SliceEvent =
  | { readonly type: "ADDED" | "MODIFIED"; readonly slice: ParsedSlice; readonly resourceVersion: string | undefined }
  | { readonly type: "DELETED"; readonly name: string; readonly resourceVersion: string | undefined }
  | { readonly type: "BOOKMARK"; readonly resourceVersion: string | undefined }
  | {
      readonly type: "ERROR";
      /** The `Status` object's `code`: 410 (Gone, `Expired`) means list again. */
      readonly code: number | undefined;
      readonly reason: string | undefined;
      readonly message: string | undefined;
    };

/**
 * The endpoints of the slice of this name as last read (its
 * `ParsedSlice.known`), which a new version of it reuses where an endpoint
 * did not change (see `InstanceList`).
 */
export type KnownSlice = (name: string) => KnownEndpoints | undefined;

/** The conditions an endpoint may have (each a boolean, or absent). */
const CONDITIONS: readonly string[] = ["ready", "serving", "terminating"];

/** The address types whose endpoints are used. */
export const ADDRESS_TYPES: readonly string[] = ["IPv4", "IPv6"];

/**
 * Reads one EndpointSlice object:
 *
 * - its port (`SliceOptions.port`): by name among `ports[]` whose
 *   `protocol` is TCP (or missing); a number as is; none given: the only
 *   TCP port. A slice without that port has none of its endpoints used: it
 *   is dropped as a whole, with one reason;
 * - each endpoint: `addresses[0]` as host (the API says addresses are
 *   fungible and the controller writes one), used when its conditions say
 *   so (`SliceOptions.condition`: left out otherwise, not dropped), `zone`
 *   as zone, weight 100, and metadata: the slice's `metadata.labels`, then
 *   `nodeName`, `hostname` and `pod` (`targetRef.name` of a Pod);
 * - slices of another `addressType` than IPv4 and IPv6 (FQDN, deprecated,
 *   with no semantics defined by the API) contribute no endpoint;
 * - endpoints sorted by id; one equal to an endpoint `known` holds is that
 *   endpoint.
 *
 * @throws RegistryError `ERR_REGISTRY_BODY` for an object without
 * `metadata.name` (a slice that cannot be told apart from the others), or
 * `endpoints` that is not an array or null.
 */
export function parseSlice(
  object: unknown,
  options: SliceOptions,
  context: RegistryErrorContext,
  known?: KnownSlice,
): ParsedSlice {
  const name = isObject(object) && isObject(object.metadata) ? object.metadata.name : undefined;
  if (typeof name !== "string" || name === "") {
    throw new RegistryError(
      "ERR_REGISTRY_BODY",
      context,
      `expected an EndpointSlice with metadata.name, got ${describe(isObject(object) ? name : object)}`,
    );
  }
  const slice = object as Record<string, unknown> & { metadata: Record<string, unknown> };
  const addressType = typeof slice.addressType === "string" ? slice.addressType : describe(slice.addressType);
  const endpoints = slice.endpoints ?? [];
  if (!Array.isArray(endpoints)) {
    throw new RegistryError(
      "ERR_REGISTRY_BODY",
      context,
      `EndpointSlice "${name}": endpoints is ${describe(endpoints)}, not an array`,
    );
  }
  if (!ADDRESS_TYPES.includes(addressType) || endpoints.length === 0) {
    return { name, addressType, endpoints: [], dropped: [] };
  }
  const port = portOf(slice.ports, options.port);
  if (typeof port === "string") {
    return { name, addressType, endpoints: [], dropped: [{ record: `EndpointSlice ${describe(name)}`, reason: port }] };
  }
  const labels = stringMap(slice.metadata.labels);
  const list = new InstanceList(options.scheme, (i) => endpointRecord(name, endpoints[i], i), known?.(name));
  for (let i = 0; i < endpoints.length; i++) addEndpoint(list, endpoints[i], i, port, labels, options.condition);
  const { endpoints: usable, dropped, known: reuse } = list.result();
  return { name, addressType, endpoints: usable, dropped, known: reuse };
}

/**
 * Reads an `EndpointSliceList` (the answer of a list): its slices, its
 * `metadata.resourceVersion` (where the watch starts) and its
 * `metadata.continue` (the next page, if the server paged it).
 *
 * @throws RegistryError `ERR_REGISTRY_BODY` for a body that is not `{
 * items: [...], metadata: { resourceVersion } }`, or an item that
 * `parseSlice` refuses.
 */
export function parseSliceList(
  body: unknown,
  options: SliceOptions,
  context: RegistryErrorContext,
  known?: KnownSlice,
): { slices: ParsedSlice[]; resourceVersion: string; continue: string | undefined } {
  if (!isObject(body) || !Array.isArray(body.items) || !isObject(body.metadata)) {
    throw new RegistryError(
      "ERR_REGISTRY_BODY",
      context,
      `expected an EndpointSliceList ({ metadata: { resourceVersion }, items: [...] }), got ${describe(body)}`,
    );
  }
  const { resourceVersion } = body.metadata;
  if (typeof resourceVersion !== "string" || resourceVersion === "") {
    throw new RegistryError(
      "ERR_REGISTRY_BODY",
      context,
      `the EndpointSliceList has no metadata.resourceVersion to watch from (${describe(resourceVersion)})`,
    );
  }
  const next = body.metadata.continue;
  const slices = body.items.map((item) => parseSlice(item, options, context, known));
  return { slices, resourceVersion, continue: typeof next === "string" && next !== "" ? next : undefined };
}

/**
 * Reads one line of a watch: `{ type, object }` with `type` ADDED,
 * MODIFIED, DELETED (`object`: the slice), BOOKMARK (`object`: only
 * `metadata.resourceVersion`) or ERROR (`object`: a `Status` with `code`,
 * `reason`, `message`).
 *
 * @throws RegistryError `ERR_REGISTRY_BODY` for anything else, or a slice
 * that `parseSlice` refuses.
 */
export function parseSliceEvent(
  line: unknown,
  options: SliceOptions,
  context: RegistryErrorContext,
  known?: KnownSlice,
): SliceEvent {
  const type = isObject(line) ? line.type : undefined;
  const object = isObject(line) ? line.object : undefined;
  if (!isObject(object)) {
    throw new RegistryError(
      "ERR_REGISTRY_BODY",
      context,
      `expected a watch event ({ type, object }), got ${describe(isObject(line) ? object : line)}`,
    );
  }
  const version = isObject(object.metadata) ? object.metadata.resourceVersion : undefined;
  const resourceVersion = typeof version === "string" && version !== "" ? version : undefined;
  switch (type) {
    case "ADDED":
    case "MODIFIED":
      return { type, slice: parseSlice(object, options, context, known), resourceVersion };
    case "DELETED":
      return { type, name: parseSlice(object, options, context).name, resourceVersion };
    case "BOOKMARK":
      return { type, resourceVersion };
    case "ERROR":
      return {
        type,
        code: typeof object.code === "number" ? object.code : undefined,
        reason: typeof object.reason === "string" ? object.reason : undefined,
        message: typeof object.message === "string" ? object.message : undefined,
      };
    default:
      throw new RegistryError("ERR_REGISTRY_BODY", context, `unknown watch event type ${describe(type)}`);
  }
}

/** The port to use, or why the slice has none. */
function portOf(ports: unknown, wanted: string | number | undefined): number | string {
  if (typeof wanted === "number") return wanted;
  if (ports !== undefined && ports !== null && !Array.isArray(ports))
    return `ports is ${describe(ports)}, not an array`;
  const tcp = ((ports ?? []) as unknown[]).filter(
    (p): p is Record<string, unknown> => isObject(p) && (p.protocol === undefined || p.protocol === "TCP"),
  );
  const names = tcp.map((p) => `${describe(p.name ?? "")} ${describe(p.port)}`).join(", ");
  let chosen: Record<string, unknown> | undefined;
  if (wanted === undefined) {
    if (tcp.length !== 1) {
      return tcp.length === 0 ? "no TCP port" : `several TCP ports (${names}): name one with the port option`;
    }
    chosen = tcp[0];
  } else {
    chosen = tcp.find((p) => (p.name ?? "") === wanted);
    if (chosen === undefined) return `no TCP port named ${describe(wanted)} (its TCP ports: ${names || "none"})`;
  }
  const port = chosen?.port;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65_535) {
    return `port ${describe(chosen?.name ?? "")} is ${describe(port)}, not a port number`;
  }
  return port;
}

/** An endpoint as the dropped list shows it: `endpoint "10.0.0.1" of EndpointSlice "api-x7k2p"`. */
function endpointRecord(slice: string, endpoint: unknown, i: number): string {
  const addresses = isObject(endpoint) ? endpoint.addresses : undefined;
  const first = Array.isArray(addresses) ? addresses[0] : undefined;
  return `endpoint ${typeof first === "string" ? describe(first) : i} of EndpointSlice ${describe(slice)}`;
}

function addEndpoint(
  list: InstanceList,
  entry: unknown,
  i: number,
  port: number,
  labels: Record<string, string> | undefined,
  condition: SliceCondition,
): void {
  if (!isObject(entry)) {
    list.drop(i, "not an endpoint object");
    return;
  }
  const conditions = entry.conditions ?? {};
  if (!isObject(conditions)) {
    list.drop(i, `conditions is ${describe(conditions)}, not an object`);
    return;
  }
  for (const key of CONDITIONS) {
    const value = conditions[key];
    if (value !== undefined && value !== null && typeof value !== "boolean") {
      list.drop(i, `conditions.${key} is ${describe(value)}, not a boolean`);
      return;
    }
  }
  const used =
    condition === "ready"
      ? conditions.ready !== false
      : conditions.serving !== false && conditions.terminating !== true;
  if (!used) return; // not ready (or not serving): not an endpoint to use now
  const addresses = entry.addresses;
  if (!Array.isArray(addresses) || typeof addresses[0] !== "string") {
    list.drop(i, `addresses is ${describe(addresses)}, not an array of addresses`);
    return;
  }
  const zone = entry.zone;
  if (zone !== undefined && zone !== null && typeof zone !== "string") {
    list.drop(i, `zone is ${describe(zone)}, not a string`);
    return;
  }
  const input: EndpointInput = { host: addresses[0], port };
  if (typeof zone === "string" && zone !== "") input.zone = zone;
  const metadata = endpointMetadata(entry, labels);
  if (metadata !== undefined) input.metadata = metadata;
  list.add(i, input);
}

/** The slice's labels, then the endpoint's `nodeName`, `hostname` and `pod` (its Pod's name). */
function endpointMetadata(
  entry: Record<string, unknown>,
  labels: Record<string, string> | undefined,
): Record<string, string> | undefined {
  const ref = isObject(entry.targetRef) ? entry.targetRef : undefined;
  let out = withKey(undefined, labels, "nodeName", entry.nodeName);
  out = withKey(out, labels, "hostname", entry.hostname);
  out = withKey(out, labels, "pod", ref?.kind === "Pod" ? ref.name : undefined);
  return out ?? labels;
}

/** `out` (or a copy of the labels, made on the first key) with `key` set to `value` when it is a non-empty string. */
function withKey(
  out: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
  key: string,
  value: unknown,
): Record<string, string> | undefined {
  if (typeof value !== "string" || value === "") return out;
  const record = out ?? copyLabels(labels);
  record[key] = value;
  return record;
}

/**
 * A copy of the slice's labels to add an endpoint's own keys to. Not a
 * spread: V8 gives an object made by `{ ...labels }` a map of its own, and
 * each key added to it then makes another (about 20 times the cost of
 * `Object.assign`). A `__proto__` label (a plain key here) needs the spread.
 */
function copyLabels(labels: Record<string, string> | undefined): Record<string, string> {
  if (labels === undefined) return {};
  return Object.hasOwn(labels, "__proto__") ? { ...labels } : Object.assign({}, labels);
}
