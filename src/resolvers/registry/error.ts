import { ResolverError } from "../../errors.js";
import type { DroppedRecord } from "../refresh/answer.js";

/**
 * Stable codes of `RegistryError`:
 * - `ERR_REGISTRY_HTTP`: the registry answered with a status other than 2xx
 *   (`status` says which; a redirect is not followed, so credentials never
 *   go to another origin).
 * - `ERR_REGISTRY_TIMEOUT`: no complete answer within `timeoutMs`.
 * - `ERR_REGISTRY_STALLED`: a blocking query stayed silent past its stall
 *   deadline (a multiple of the wait it asked for), or an etcd watch past
 *   a multiple of etcd's progress interval; it was torn down and is sent
 *   again at once.
 * - `ERR_REGISTRY_CONNECT`: no connection (refused, reset, name not found,
 *   TLS verification failed) or the connection broke mid-answer.
 * - `ERR_REGISTRY_TOO_LARGE`: the body is larger than `maxBodyBytes`.
 * - `ERR_REGISTRY_BODY`: the body is not JSON, or not the registry's
 *   documented shape (an object where an array belongs...).
 * - `ERR_REGISTRY_MAPPING`: `jsonResolver`'s mapping function threw or did
 *   not return an array.
 * - `ERR_REGISTRY_INVALID_INSTANCE`: instances that cannot be endpoints
 *   (port out of range, bad address, duplicates) were dropped.
 * - `ERR_REGISTRY_EMPTY`: the registry lists no instance; a non-empty set is
 *   kept until the empty answer is confirmed.
 */
export type RegistryErrorCode =
  | "ERR_REGISTRY_HTTP"
  | "ERR_REGISTRY_TIMEOUT"
  | "ERR_REGISTRY_STALLED"
  | "ERR_REGISTRY_CONNECT"
  | "ERR_REGISTRY_TOO_LARGE"
  | "ERR_REGISTRY_BODY"
  | "ERR_REGISTRY_MAPPING"
  | "ERR_REGISTRY_INVALID_INSTANCE"
  | "ERR_REGISTRY_EMPTY";

/** Where a registry error happened. */
export interface RegistryErrorContext {
  /** The resolver's `name`, e.g. `"consul:api"` (a registrar's, e.g. `"consul:api-1"`, for its requests). */
  readonly resolver: string;
  /** The kind of registry: `"consul"`, `"kong"`, `"json"`. */
  readonly registry: string;
  /** The URL asked, without credentials (user info dropped, secret query values redacted); none before a request. */
  readonly url?: string | undefined;
  /** The request's method, shown before the URL. Default `"GET"` (etcd's JSON gateway and registrars' writes: others). */
  readonly method?: string | undefined;
}

/**
 * A registry request failed, or its answer could not be used. A
 * `ResolverError` with a `RegistryErrorCode`; its message names the
 * resolver, the URL (never with credentials: user info is dropped, secret
 * query values and header values are redacted from every message) and what
 * went wrong. The resolver keeps its last good set.
 *
 * A registrar's failed requests are `RegistryError`s too (`resolver` then
 * holds the registrar's name, `method` the request's method).
 */
export class RegistryError extends ResolverError {
  declare readonly code: RegistryErrorCode;
  /** The kind of registry: `"consul"`, `"kong"`, `"json"`, `"etcd"`. */
  readonly registry: string;
  /** The URL asked, without credentials; `undefined` when the error is not about one request. */
  readonly url: string | undefined;
  /** The HTTP method of the request: `"GET"` for a resolver's, `"PUT"`, `"POST"`, `"DELETE"`... for a registrar's. */
  readonly method: string;
  /** For `ERR_REGISTRY_HTTP`: the HTTP status. */
  readonly status: number | undefined;
  /** For `ERR_REGISTRY_INVALID_INSTANCE`: the instances left out. */
  readonly dropped: readonly DroppedRecord[];
  /** What went wrong, without the resolver and URL. */
  readonly detail: string;

  constructor(
    code: RegistryErrorCode,
    context: RegistryErrorContext,
    detail: string,
    options?: { cause?: unknown; status?: number; dropped?: readonly DroppedRecord[] },
  ) {
    const method = context.method ?? "GET";
    super(context.resolver, context.url === undefined ? detail : `${method} ${context.url}: ${detail}`, {
      cause: options?.cause,
      code,
    });
    this.registry = context.registry;
    this.url = context.url;
    this.method = method;
    this.status = options?.status;
    this.dropped = options?.dropped ?? [];
    this.detail = detail;
  }

  /**
   * True for failures worth retrying within a refresh, after a backoff (or
   * at once for a stall): timeouts, stalls, connection errors, HTTP 408, 429
   * and 5xx. False for answers: other statuses, bodies that cannot be used,
   * dropped instances, empty answers.
   */
  get retryable(): boolean {
    switch (this.code) {
      case "ERR_REGISTRY_TIMEOUT":
      case "ERR_REGISTRY_STALLED":
      case "ERR_REGISTRY_CONNECT":
        return true;
      case "ERR_REGISTRY_HTTP":
        return this.status !== undefined && (this.status >= 500 || this.status === 408 || this.status === 429);
      default:
        return false;
    }
  }
}
