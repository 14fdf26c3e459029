import type { Endpoint } from "../../endpoint.js";
import { endpoint, parseEndpoint } from "../../endpoint.js";
import { InvalidEndpointError, SwitchyardError } from "../../errors.js";
import { decodeUtf8 } from "./etcd-wire.js";
import { describe, isObject } from "./instances.js";

/**
 * An instance as `etcdRegistrar()` writes it and `etcdResolver()` reads it:
 * the value of its key, as JSON. Only `host` and `port` are required; other
 * fields of the JSON object are ignored (an application may keep its own
 * there).
 */
export interface EtcdInstance {
  /** Hostname or IP address (IPv6 without brackets). */
  host: string;
  /** TCP port, 1..65535. */
  port: number;
  /** Share of traffic, 0..65535 (0 = drained). Default 100. */
  weight?: number;
  /** Priority level: lower takes traffic first. Default 0. */
  priority?: number;
  /** URL scheme of this instance. Default the resolver's `scheme` option. */
  scheme?: string;
  /** Locality, for zone-aware routing. */
  zone?: string;
  /** Free-form labels. */
  tags?: readonly string[];
  /** Free-form string metadata. */
  metadata?: Readonly<Record<string, string>>;
}

/**
 * The endpoint an etcd value describes. The value is UTF-8 text, either
 * - a JSON object, an `EtcdInstance`: `{"host":"10.0.0.1","port":8080,"weight":50,"zone":"a"}`;
 * - or an address with its port, as `parseEndpoint()` reads it:
 *   `10.0.0.1:8080`, `https://api-1.internal:8443`, `[fd00::1]:80` (bare,
 *   or as a JSON string). The port is required: a value such as `true` is
 *   not taken for host `true` on port 80.
 *
 * @throws InvalidEndpointError (the message is the reason it was dropped):
 * not UTF-8, empty, not JSON where JSON begins, not an object or a string,
 * or what `endpoint()` refuses (port out of range, bad host...).
 */
export function etcdInstance(text: string, scheme: string): Endpoint {
  const trimmed = text.trim();
  if (trimmed === "") throw new InvalidEndpointError("the value is empty", text);
  if (trimmed[0] !== "{" && trimmed[0] !== '"') return address(trimmed, scheme);
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    const why = (error as Error).message.split("\n")[0]?.slice(0, 120) ?? "";
    throw new InvalidEndpointError(`the value is not JSON (${why})`, text);
  }
  if (typeof value === "string") return address(value, scheme);
  if (!isObject(value)) throw new InvalidEndpointError(`the value is ${describe(value)}, not an object`, text);
  // Only the fields of an EtcdInstance: the rest is the application's.
  return endpoint(
    {
      host: value.host as string,
      port: value.port as number,
      weight: value.weight as number | undefined,
      priority: value.priority as number | undefined,
      scheme: value.scheme as string | undefined,
      zone: value.zone as string | undefined,
      tags: value.tags as readonly string[] | undefined,
      metadata: value.metadata as Record<string, string> | undefined,
    },
    { scheme },
  );
}

const PORT = /:\d+\/?$/;

/** An address value: `parseEndpoint()`'s grammar, with an explicit port. */
function address(text: string, scheme: string): Endpoint {
  const e = parseEndpoint(text, { scheme });
  if (!PORT.test(text.trim())) {
    throw new InvalidEndpointError(`the value ${describe(text)} has no port: write "host:port" or a JSON object`, text);
  }
  return e;
}

/**
 * `etcdInstance()` of a value as the gateway sends it (base64): the
 * endpoint, or the reason it cannot be one. Never throws.
 */
export function readEtcdInstance(base64: string, scheme: string): { endpoint: Endpoint } | { reason: string } {
  const text = decodeUtf8(base64);
  if (text === undefined) return { reason: "the value is not UTF-8" };
  try {
    return { endpoint: etcdInstance(text, scheme) };
  } catch (error) {
    if (error instanceof SwitchyardError) return { reason: error.message };
    throw error;
  }
}
