import type { RegistryErrorContext } from "./error.js";
import { RegistryError } from "./error.js";
import type { EtcdKeyValue } from "./etcd-kv.js";
import { parseEtcdKeyValue } from "./etcd-kv.js";
import { headerRevision, int64 } from "./etcd-wire.js";
import { describe, isObject } from "./instances.js";

/** One change of a watched key. */
export interface EtcdEvent {
  /** `"put"` (created or changed) or `"delete"` (deleted, or its lease expired or was revoked). */
  readonly type: "put" | "delete";
  /** The key and, for a put, its new value; its `modRevision` is the revision of the change. */
  readonly kv: EtcdKeyValue;
}

/**
 * One message of a `POST /v3/watch` stream, as the resolver acts on it:
 * - `created`: the watch is set up (nothing has changed);
 * - `events`: changes, in revision order; `revision` is the store's;
 * - `progress`: a progress notification (no change up to `revision`);
 * - `compacted`: etcd has compacted the revision the watch asked to start
 *   from: the changes since are gone and the keys must be listed again;
 * - `canceled`: etcd ended the watch for another reason (`reason`: a lost
 *   permission, an invalid auth token...).
 */
export type EtcdWatchMessage =
  | { readonly kind: "created"; readonly revision: bigint }
  | { readonly kind: "events"; readonly revision: bigint; readonly events: readonly EtcdEvent[] }
  | { readonly kind: "progress"; readonly revision: bigint }
  | { readonly kind: "compacted"; readonly compactRevision: bigint }
  | { readonly kind: "canceled"; readonly reason: string };

/**
 * Reads one line of a watch stream (already parsed as JSON): grpc-gateway
 * writes each `WatchResponse` as `{"result": {...}}` and a stream error as
 * `{"error": {"grpc_code", "http_code", "message"}}`. In a `WatchResponse`
 * a PUT event has no `type` (the zero value), a DELETE has `"type":
 * "DELETE"`; `compact_revision` is set when the start revision was
 * compacted; `created`, `canceled` and `events` are left out when false or
 * empty.
 *
 * @throws RegistryError `ERR_REGISTRY_CONNECT` for a stream error (etcd
 * stopping: "transport is closing"; retried like a lost connection), and
 * `ERR_REGISTRY_BODY` for anything that is not a watch message. A stream
 * error's text passes through `redact` (etcd's own words may quote a token).
 */
export function parseEtcdWatchMessage(
  line: unknown,
  context: RegistryErrorContext,
  redact: (text: string) => string = (text) => text,
): EtcdWatchMessage {
  if (!isObject(line)) {
    throw new RegistryError("ERR_REGISTRY_BODY", context, `watch message is ${describe(line)}, not an object`);
  }
  if (line.error !== undefined) {
    const error = line.error;
    const message = isObject(error) && typeof error.message === "string" ? error.message : describe(error);
    throw new RegistryError(
      "ERR_REGISTRY_CONNECT",
      context,
      redact(`the watch stream failed: ${message.slice(0, 200)}`),
    );
  }
  const result = line.result;
  if (!isObject(result)) {
    throw new RegistryError("ERR_REGISTRY_BODY", context, `watch message result is ${describe(result)}, not an object`);
  }
  const compactRevision = int64(result.compact_revision, "compact_revision", context) ?? 0n;
  if (compactRevision > 0n) return { kind: "compacted", compactRevision };
  if (result.canceled === true) {
    const reason = typeof result.cancel_reason === "string" && result.cancel_reason !== "" ? result.cancel_reason : "";
    return { kind: "canceled", reason: reason === "" ? "canceled by etcd" : reason.slice(0, 200) };
  }
  const revision = headerRevision(result, context);
  if (result.created === true) return { kind: "created", revision };
  const raw = result.events ?? [];
  if (!Array.isArray(raw)) {
    throw new RegistryError("ERR_REGISTRY_BODY", context, `events is ${describe(raw)}, not an array`);
  }
  if (raw.length === 0) return { kind: "progress", revision };
  const events: EtcdEvent[] = [];
  for (let i = 0; i < raw.length; i++) {
    const event = raw[i];
    if (!isObject(event)) {
      throw new RegistryError("ERR_REGISTRY_BODY", context, `events[${i}] is ${describe(event)}, not an object`);
    }
    const type = event.type ?? "PUT";
    if (type !== "PUT" && type !== "DELETE") {
      throw new RegistryError("ERR_REGISTRY_BODY", context, `events[${i}].type is ${describe(type)}`);
    }
    events.push({
      type: type === "PUT" ? "put" : "delete",
      kv: parseEtcdKeyValue(event.kv, `events[${i}].kv`, context),
    });
  }
  return { kind: "events", revision, events };
}
