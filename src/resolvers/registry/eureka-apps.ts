import type { Endpoint, EndpointInput } from "../../endpoint.js";
import { DEFAULT_WEIGHT, MAX_WEIGHT } from "../../endpoint.js";
import type { DroppedRecord } from "../refresh/answer.js";
import type { RegistryErrorContext } from "./error.js";
import { RegistryError } from "./error.js";
import { describe, InstanceList, isObject } from "./instances.js";
import { stringMap } from "./string-map.js";

/** How `parseEurekaApplication` reads an answer. */
export interface EurekaApplicationOptions {
  /** Scheme of an endpoint on its `port` (its `securePort` is always `"https"`). */
  readonly scheme: string;
  /** The instance field that is the endpoint's host. */
  readonly host: "ipAddr" | "hostName";
  /** True: an instance whose `securePort` is enabled is reached there, over https; false: on its `port` when enabled. */
  readonly preferSecure: boolean;
}

/** The metadata key whose value is an instance's weight. */
export const EUREKA_WEIGHT_KEY = "weight";
/** Metadata keys that are Eureka's markers, not metadata: an empty map is `{ "@class": "java.util.Collections$EmptyMap" }`. */
const MARKERS: ReadonlySet<string> = new Set(["@class"]);

/**
 * Reads the answer of Eureka's `GET /eureka/apps/<APP>` (JSON: `{
 * application: { name, instance } }`, where `instance` is an array, or a
 * single object when the application has one instance) into endpoints:
 *
 * - only instances whose `status` is `UP` (`DOWN`, `STARTING`,
 *   `OUT_OF_SERVICE`, `UNKNOWN` are left out, not dropped);
 * - host: `ipAddr` (default) or `hostName`;
 * - port: `securePort.$` with scheme `https` when `securePort["@enabled"]`
 *   is `"true"` (with `preferSecure`), else `port.$` when `port["@enabled"]`
 *   is `"true"`; `$` may be a number or a decimal string, `@enabled` a
 *   string or a boolean. An instance with neither port enabled is dropped;
 * - weight: `metadata.weight` (a decimal integer 0..65535) when present,
 *   else 100 (switchyard's default: Eureka has no weights); 0 drains;
 * - zone: `metadata.zone` (Spring Cloud's), else
 *   `dataCenterInfo.metadata["availability-zone"]` (Amazon's);
 * - metadata: the string values of `metadata`, without `@class`.
 *
 * An entry that cannot be an endpoint is dropped with its reason; two
 * instances at one `host:port` are one endpoint (see `InstanceList`).
 * Throws only for a body that is not `{ application: {...} }` or whose
 * `instance` is neither an array nor an object: `ERR_REGISTRY_BODY`.
 */
export function parseEurekaApplication(
  body: unknown,
  options: EurekaApplicationOptions,
  context: RegistryErrorContext,
): { endpoints: Endpoint[]; dropped: DroppedRecord[] } {
  if (!isObject(body) || !isObject(body.application)) {
    throw new RegistryError(
      "ERR_REGISTRY_BODY",
      context,
      `expected an application ({ application: { name, instance } }), got ${describe(body)}`,
    );
  }
  const listed = body.application.instance;
  let instances: readonly unknown[];
  if (listed === undefined || listed === null) instances = [];
  else if (Array.isArray(listed)) instances = listed;
  else if (isObject(listed))
    instances = [listed]; // one instance: an object, not an array of one
  else {
    throw new RegistryError(
      "ERR_REGISTRY_BODY",
      context,
      `application.instance is ${describe(listed)}, not an array or an instance object`,
    );
  }
  const list = new InstanceList(options.scheme, (i) => eurekaRecord(instances[i], i));
  for (let i = 0; i < instances.length; i++) addInstance(list, instances[i], i, options);
  return list.result();
}

/** An instance as the dropped list shows it: `instance "10.0.0.1:api:8080"`, or `instance 3`. */
function eurekaRecord(instance: unknown, i: number): string {
  if (!isObject(instance)) return `instance ${i}`;
  const id = instance.instanceId ?? instance.hostName;
  return id === undefined ? `instance ${i}` : `instance ${describe(id)}`;
}

function addInstance(list: InstanceList, instance: unknown, i: number, options: EurekaApplicationOptions): void {
  if (!isObject(instance)) {
    list.drop(i, "not an instance object");
    return;
  }
  if (instance.status !== "UP") return; // not an instance to use
  const host = instance[options.host];
  if (typeof host !== "string" || host === "") {
    list.drop(i, `${options.host} is ${describe(host)}, not a host`);
    return;
  }
  const plain = portOf(instance.port);
  const secure = portOf(instance.securePort);
  const chosen =
    options.preferSecure && secure.enabled
      ? { port: secure.port, scheme: "https", field: "securePort" }
      : plain.enabled
        ? { port: plain.port, scheme: options.scheme, field: "port" }
        : secure.enabled
          ? { port: secure.port, scheme: "https", field: "securePort" }
          : undefined;
  if (chosen === undefined) {
    list.drop(i, "neither port nor securePort is enabled");
    return;
  }
  if (typeof chosen.port !== "number") {
    list.drop(i, `${chosen.field}.$ is ${describe(chosen.port)}, not a port number`);
    return;
  }
  if (instance.metadata !== undefined && instance.metadata !== null && !isObject(instance.metadata)) {
    list.drop(i, `metadata is ${describe(instance.metadata)}, not an object`);
    return;
  }
  const metadata = stringMap(instance.metadata, MARKERS);
  const input: EndpointInput = { host, port: chosen.port, scheme: chosen.scheme, weight: DEFAULT_WEIGHT };
  if (isObject(instance.metadata) && instance.metadata[EUREKA_WEIGHT_KEY] !== undefined) {
    const weight = weightOf(instance.metadata[EUREKA_WEIGHT_KEY]);
    if (weight === undefined) {
      list.drop(
        i,
        `metadata.${EUREKA_WEIGHT_KEY} ${describe(instance.metadata[EUREKA_WEIGHT_KEY])} is not an integer in 0..${MAX_WEIGHT}`,
      );
      return;
    }
    input.weight = weight;
  }
  const zone = zoneOf(instance);
  if (zone !== undefined) input.zone = zone;
  if (metadata !== undefined) input.metadata = metadata;
  list.add(i, input);
}

/** A port object `{ "$": 8080, "@enabled": "true" }`: its number (or what stands there) and whether it is enabled. */
function portOf(value: unknown): { port: unknown; enabled: boolean } {
  if (!isObject(value)) return { port: value, enabled: false };
  const enabled = value["@enabled"] === "true" || value["@enabled"] === true;
  const raw = value.$;
  const port = typeof raw === "string" && /^\d{1,5}$/.test(raw) ? Number(raw) : raw;
  return { port, enabled };
}

/** A weight written as a decimal string (Eureka's metadata values are strings) or a number, 0..65535. */
function weightOf(value: unknown): number | undefined {
  const n = typeof value === "string" && /^\d{1,5}$/.test(value.trim()) ? Number(value.trim()) : value;
  return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= MAX_WEIGHT ? n : undefined;
}

function zoneOf(instance: Record<string, unknown>): string | undefined {
  const own = isObject(instance.metadata) ? instance.metadata.zone : undefined;
  if (typeof own === "string" && own !== "") return own;
  const dc = isObject(instance.dataCenterInfo) ? instance.dataCenterInfo.metadata : undefined;
  const az = isObject(dc) ? dc["availability-zone"] : undefined;
  return typeof az === "string" && az !== "" ? az : undefined;
}
