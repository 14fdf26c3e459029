import type { RegistryErrorContext } from "./error.js";
import { RegistryError } from "./error.js";
import { headerRevision, int64, isBase64 } from "./etcd-wire.js";
import { describe, isObject } from "./instances.js";

/** One key-value pair of etcd, as the gateway sends it. */
export interface EtcdKeyValue {
  /** The key, base64 as sent (the resolver's map key: equal bytes, equal text). */
  readonly key: string;
  /** The value, base64 as sent; `""` for an empty value. */
  readonly value: string;
  /** The revision of its last change. */
  readonly modRevision: bigint;
}

/** One page of `POST /v3/kv/range`. */
export interface EtcdRangePage {
  /** The store's revision the page was read at. */
  readonly revision: bigint;
  readonly kvs: readonly EtcdKeyValue[];
  /** More keys in the range than the page's `limit` held. */
  readonly more: boolean;
}

/**
 * Reads an answer of `POST /v3/kv/range`: `{ header: { revision }, kvs?: [{ key,
 * value?, mod_revision, ... }], more?, count? }` (no `kvs` when nothing
 * matched).
 *
 * @throws RegistryError `ERR_REGISTRY_BODY` for any other shape: it is
 * etcd's own structure, not user data, so nothing of it is trusted.
 */
export function parseEtcdRange(body: unknown, context: RegistryErrorContext): EtcdRangePage {
  if (!isObject(body)) {
    throw new RegistryError("ERR_REGISTRY_BODY", context, `expected a range answer object, got ${describe(body)}`);
  }
  const revision = headerRevision(body, context);
  const raw = body.kvs ?? [];
  if (!Array.isArray(raw)) {
    throw new RegistryError("ERR_REGISTRY_BODY", context, `kvs is ${describe(raw)}, not an array`);
  }
  const kvs: EtcdKeyValue[] = [];
  for (let i = 0; i < raw.length; i++) kvs.push(parseEtcdKeyValue(raw[i], `kvs[${i}]`, context));
  const more = body.more ?? false;
  if (typeof more !== "boolean") {
    throw new RegistryError("ERR_REGISTRY_BODY", context, `more is ${describe(more)}, not a boolean`);
  }
  return { revision, kvs, more };
}

/**
 * Reads one `mvccpb.KeyValue` (`{ key, value?, mod_revision?, ... }`) found
 * at `where` (`kvs[3]`, `events[0].kv`).
 *
 * @throws RegistryError `ERR_REGISTRY_BODY` for a missing or non-base64 key or value.
 */
export function parseEtcdKeyValue(kv: unknown, where: string, context: RegistryErrorContext): EtcdKeyValue {
  if (!isObject(kv)) {
    throw new RegistryError("ERR_REGISTRY_BODY", context, `${where} is ${describe(kv)}, not an object`);
  }
  const { key } = kv;
  if (!isBase64(key) || key === "") {
    throw new RegistryError("ERR_REGISTRY_BODY", context, `${where}.key is ${describe(key)}, not a base64 key`);
  }
  const value = kv.value ?? "";
  if (!isBase64(value)) {
    throw new RegistryError("ERR_REGISTRY_BODY", context, `${where}.value is ${describe(value)}, not base64`);
  }
  const modRevision = int64(kv.mod_revision, `${where}.mod_revision`, context) ?? 0n;
  return { key, value, modRevision };
}
