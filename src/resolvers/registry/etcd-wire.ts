/**
 * How etcd's v3 JSON gateway (grpc-gateway over etcd's gRPC API) writes its
 * values: keys and values are base64 (protobuf `bytes`), int64 fields are
 * decimal strings (`"revision":"42"`), and fields at their zero value are
 * left out (an empty range has no `kvs` and no `count`; a revision 0 has no
 * `revision`). Pure functions, no I/O.
 * @module
 */
import type { RegistryErrorContext } from "./error.js";
import { RegistryError } from "./error.js";
import { describe, isObject } from "./instances.js";

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const INT64 = /^-?\d{1,19}$/;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const UTF8 = new TextDecoder("utf-8", { fatal: true });
const LOSSY = new TextDecoder("utf-8");

/** `text` (UTF-8) as the gateway's base64. */
export function encodeText(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

/** True for a string in the standard base64 alphabet with its padding, as the gateway writes `bytes`. */
export function isBase64(value: unknown): value is string {
  return typeof value === "string" && value.length % 4 === 0 && BASE64.test(value);
}

/** The bytes of gateway base64 (checked with `isBase64` first). */
export function decodeBytes(base64: string): Buffer {
  return Buffer.from(base64, "base64");
}

/** Gateway base64 as strict UTF-8 text; `undefined` when the bytes are not UTF-8. */
export function decodeUtf8(base64: string): string | undefined {
  try {
    return UTF8.decode(decodeBytes(base64));
  } catch {
    return undefined;
  }
}

/** A key as messages show it: its UTF-8 text (invalid bytes replaced), quoted and shortened. */
export function showKey(base64: string): string {
  return describe(LOSSY.decode(decodeBytes(base64)));
}

/**
 * The `range_end` that makes a range cover every key starting with `prefix`
 * (etcd's `GetPrefixRangeEnd`): the prefix with its last byte below 0xff
 * incremented and what follows dropped; `"\0"` (every key from `key` on)
 * when every byte is 0xff or the prefix is empty. Base64, as sent.
 */
export function prefixRangeEnd(prefix: Uint8Array): string {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const byte = prefix[i] as number;
    if (byte < 0xff) {
      const end = Buffer.from(prefix.subarray(0, i + 1));
      end[i] = byte + 1;
      return end.toString("base64");
    }
  }
  return "AA==";
}

/** The smallest key after `base64` (the key with a 0 byte appended): where the next page of a range starts. Base64. */
export function keyAfter(base64: string): string {
  const key = decodeBytes(base64);
  const next = Buffer.alloc(key.length + 1);
  key.copy(next);
  return next.toString("base64");
}

/**
 * An int64 field: a decimal string as the gateway writes it (a safe JSON
 * integer is accepted too); `undefined` when absent (the zero value), which
 * callers read as 0.
 *
 * @throws RegistryError `ERR_REGISTRY_BODY` for anything else.
 */
export function int64(value: unknown, field: string, context: RegistryErrorContext): bigint | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string" && INT64.test(value)) {
    const n = BigInt(value);
    if (n >= INT64_MIN && n <= INT64_MAX) return n;
  } else if (typeof value === "number" && Number.isSafeInteger(value)) {
    return BigInt(value);
  }
  throw new RegistryError("ERR_REGISTRY_BODY", context, `${field} is ${describe(value)}, not an int64`);
}

/**
 * The `header.revision` of an answer: the store's revision when it was
 * made. A header without one is revision 0.
 *
 * @throws RegistryError `ERR_REGISTRY_BODY` when `header` is not an object or the revision not an int64.
 */
export function headerRevision(body: Record<string, unknown>, context: RegistryErrorContext): bigint {
  const header = body.header;
  if (!isObject(header)) {
    throw new RegistryError("ERR_REGISTRY_BODY", context, `header is ${describe(header)}, not an object`);
  }
  return int64(header.revision, "header.revision", context) ?? 0n;
}
