import { isIP } from "node:net";
import { InvalidConfigError, show } from "../errors.js";
import { checkHost, checkPathName, checkPort, checkString, checkStringMap } from "./http-registrar.js";

/**
 * The instance document a Eureka registration sends: Eureka's `InstanceInfo`
 * in its JSON form (`{ instance: { ... } }`, as Eureka itself writes it:
 * ports as `{ "$": 8080, "@enabled": "true" }`, timestamps as strings, an
 * empty metadata map as `{ "@class": "java.util.Collections$EmptyMap" }`),
 * and the checks of what a user gives for it.
 * @module
 */

/** An instance's status in Eureka. Only `UP` instances take traffic. */
export type EurekaStatus = "UP" | "DOWN" | "STARTING" | "OUT_OF_SERVICE" | "UNKNOWN";

/** Every `EurekaStatus`. */
export const EUREKA_STATUSES: readonly EurekaStatus[] = ["UP", "DOWN", "STARTING", "OUT_OF_SERVICE", "UNKNOWN"];

/** The instance a `eurekaRegistrar` registers (the fields of Eureka's `InstanceInfo` it sends). */
export interface EurekaInstanceDefinition {
  /** Unique id of the instance within the app. Default `"<hostName>:<app>:<port>"` (Spring Cloud's form). */
  instanceId?: string;
  /** The instance's host name (or address). */
  hostName: string;
  /** The instance's IP address: what Eureka clients usually connect to. */
  ipAddr: string;
  /** The plain port (always sent enabled). */
  port: number;
  /** The TLS port; sent enabled when given. */
  securePort?: number;
  /** The VIP address clients look the app up by. Default the `app` option as given. */
  vipAddress?: string;
  /** The secure VIP address. Default `vipAddress`. */
  secureVipAddress?: string;
  /** Metadata (string values), e.g. `{ zone: "eu-1", weight: "10" }`. */
  metadata?: Readonly<Record<string, string>>;
  /** URLs shown by Eureka's dashboard and used by some tools. Default none. */
  homePageUrl?: string;
  statusPageUrl?: string;
  healthCheckUrl?: string;
  /**
   * Eureka's `dataCenterInfo`. Default `{ name: "MyOwn" }`; `"@class"` is
   * filled in from the name when absent (`AmazonInfo` for `"Amazon"`,
   * `InstanceInfo$DefaultDataCenterInfo` otherwise).
   */
  dataCenterInfo?: { readonly name: string; readonly [field: string]: unknown };
}

/** The checked definition. Internal. */
export interface EurekaInstance {
  readonly app: string;
  readonly instanceId: string;
  readonly hostName: string;
  readonly ipAddr: string;
  readonly port: number;
  readonly securePort: number | undefined;
  readonly vipAddress: string;
  readonly secureVipAddress: string;
  readonly metadata: Readonly<Record<string, string>> | undefined;
  readonly urls: Readonly<Record<string, string>>;
  readonly dataCenterInfo: Readonly<Record<string, unknown>>;
}

const DEFAULT_DATA_CENTER = "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo";
const AMAZON_DATA_CENTER = "com.netflix.appinfo.AmazonInfo";

/**
 * Checks the `instance` option of `eurekaRegistrar()` for `app` (the
 * application name, upper-cased as Eureka keys it).
 *
 * @throws InvalidConfigError naming the field: `instance.port`...
 */
export function checkEurekaInstance(value: unknown, app: string, appGiven: string): EurekaInstance {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidConfigError("instance", `must be an object { hostName, ipAddr, port, ... }, got ${show(value)}`);
  }
  const i = value as Partial<EurekaInstanceDefinition>;
  const hostName = checkHost(i.hostName, "instance.hostName");
  const ipAddr = checkString(i.ipAddr, "instance.ipAddr");
  if (isIP(ipAddr) === 0) {
    throw new InvalidConfigError("instance.ipAddr", `must be an IPv4 or IPv6 address, got ${show(i.ipAddr)}`);
  }
  const port = checkPort(i.port, "instance.port");
  const securePort = i.securePort === undefined ? undefined : checkPort(i.securePort, "instance.securePort");
  const instanceId = checkPathName(i.instanceId, "instance.instanceId", true) ?? `${hostName}:${appGiven}:${port}`;
  const vipAddress = checkString(i.vipAddress, "instance.vipAddress", true) ?? appGiven;
  const secureVipAddress = checkString(i.secureVipAddress, "instance.secureVipAddress", true) ?? vipAddress;
  const metadata = checkStringMap(i.metadata, "instance.metadata");
  const urls: Record<string, string> = {};
  for (const field of ["homePageUrl", "statusPageUrl", "healthCheckUrl"] as const) {
    const url = checkString(i[field], `instance.${field}`, true);
    if (url === undefined) continue;
    if (!URL.canParse(url)) throw new InvalidConfigError(`instance.${field}`, `must be a URL, got ${show(url)}`);
    urls[field] = url;
  }
  return {
    app,
    instanceId,
    hostName,
    ipAddr,
    port,
    securePort,
    vipAddress,
    secureVipAddress,
    metadata,
    urls: Object.freeze(urls),
    dataCenterInfo: checkDataCenter(i.dataCenterInfo),
  };
}

function checkDataCenter(value: unknown): Readonly<Record<string, unknown>> {
  if (value === undefined) return Object.freeze({ "@class": DEFAULT_DATA_CENTER, name: "MyOwn" });
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidConfigError("instance.dataCenterInfo", `must be an object { name, ... }, got ${show(value)}`);
  }
  const d = value as Record<string, unknown>;
  const name = checkString(d.name, "instance.dataCenterInfo.name");
  const cls = d["@class"] ?? (name === "Amazon" ? AMAZON_DATA_CENTER : DEFAULT_DATA_CENTER);
  return Object.freeze({ ...d, "@class": cls, name });
}

/** The lease an instance asks for, and the moment its information last changed (epoch ms). */
export interface EurekaLease {
  readonly renewalIntervalMs: number;
  readonly durationMs: number;
  readonly lastDirtyTimestamp: number;
}

/** The body of `POST /eureka/apps/<APP>`: `{ instance: InstanceInfo }` in Eureka's JSON form. */
export function eurekaInstanceDocument(i: EurekaInstance, status: EurekaStatus, lease: EurekaLease): unknown {
  const stamp = String(lease.lastDirtyTimestamp);
  return {
    instance: {
      instanceId: i.instanceId,
      hostName: i.hostName,
      app: i.app,
      ipAddr: i.ipAddr,
      status,
      overriddenStatus: "UNKNOWN",
      port: { $: i.port, "@enabled": "true" },
      securePort: { $: i.securePort ?? 443, "@enabled": i.securePort === undefined ? "false" : "true" },
      countryId: 1,
      dataCenterInfo: i.dataCenterInfo,
      leaseInfo: {
        renewalIntervalInSecs: seconds(lease.renewalIntervalMs),
        durationInSecs: seconds(lease.durationMs),
      },
      metadata:
        i.metadata === undefined || Object.keys(i.metadata).length === 0
          ? { "@class": "java.util.Collections$EmptyMap" }
          : i.metadata,
      ...i.urls,
      vipAddress: i.vipAddress,
      secureVipAddress: i.secureVipAddress,
      isCoordinatingDiscoveryServer: "false",
      lastUpdatedTimestamp: stamp,
      lastDirtyTimestamp: stamp,
    },
  };
}

/** Whole seconds for Eureka's lease fields, at least 1. */
function seconds(ms: number): number {
  return Math.max(1, Math.round(ms / 1000));
}
