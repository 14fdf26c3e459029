import type { DroppedRecord } from "../refresh/answer.js";
import type { RefreshSettings } from "../refresh/options.js";
import { RefreshingResolver } from "../refresh/refreshing-resolver.js";
import { Credentials } from "./credentials.js";
import type { RegistryErrorCode } from "./error.js";
import { RegistryError } from "./error.js";
import type { RegistryRequest, RegistryResponse } from "./http.js";
import { RegistryHttp } from "./http.js";
import type { RegistrySettings } from "./options.js";

/** What a registry resolver is built from. Internal. */
export interface RegistryInit {
  /** The kind of registry: `"consul"`, `"kong"`, `"json"`. */
  readonly registry: string;
  readonly settings: RegistrySettings;
  readonly refresh: RefreshSettings;
  /** Base URLs to fail over between, and the user info they carried. */
  readonly bases: { readonly urls: readonly URL[]; readonly userInfo: readonly string[] };
  /** The user's `headers` option (validated by `Credentials`). */
  readonly headers: unknown;
  /** The registry's token header and the user's `token` option. */
  readonly token?: { readonly header: string; readonly value: unknown };
  /** A blocking query's deadline is this multiple of its wait. Default 2. */
  readonly stallFactor?: number;
}

/**
 * The base of the HTTP registry resolvers (Consul, Kong, generic JSON): the
 * shared refresh loop (`RefreshingResolver`) over the shared HTTP layer
 * (`RegistryHttp`), with the registries' error rules:
 *
 * - timeouts, connection errors, stalls and HTTP 408/429/5xx are retried
 *   with backoff (a stall at once), each retry on the next base URL when
 *   there are several;
 * - a stalled blocking query is reported (`error`, `ERR_REGISTRY_STALLED`)
 *   the moment it is torn down, then sent again;
 * - an answer with no instance is `ERR_REGISTRY_EMPTY`, confirmed before it
 *   empties a non-empty set; a first answer with none fails `ready()`;
 * - instances that cannot be endpoints are dropped and reported
 *   (`ERR_REGISTRY_INVALID_INSTANCE`);
 * - the `signal` option closes the resolver.
 */
export abstract class RegistryResolver extends RefreshingResolver {
  /** The kind of registry: `"consul"`, `"kong"`, `"json"`. */
  readonly registry: string;
  /** The HTTP layer: fetch, credentials, deadlines, size cap, failover. */
  protected readonly http: RegistryHttp;
  /** Scheme of every endpoint. */
  protected readonly scheme: string;
  /** The credentials of every request (a resolver whose token rotates sets it again: `Credentials.bearer`). */
  protected readonly credentials: Credentials;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => {
    void this.close();
  };
  #lastUrl: string | undefined;

  protected constructor(init: RegistryInit) {
    super(init.settings.name, init.refresh);
    this.registry = init.registry;
    this.scheme = init.settings.scheme;
    const credentials = new Credentials(init.headers, init.token, init.bases.userInfo);
    this.credentials = credentials;
    this.http = new RegistryHttp({
      registry: init.registry,
      resolver: init.settings.name,
      bases: init.bases.urls,
      credentials,
      timeoutMs: init.settings.timeoutMs,
      stallFactor: init.stallFactor ?? 2,
      maxBodyBytes: init.settings.maxBodyBytes,
      clock: init.refresh.clock,
      fetch: init.settings.fetch,
      onStall: (error) => this.failNow(error),
    });
    this.#signal = init.settings.signal;
    if (this.#signal?.aborted) void this.close();
    else this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** The base URL in use now (the agent or node asked), without credentials. */
  get url(): string {
    return this.http.base;
  }

  /** GETs `request` (see `RegistryHttp.get`), noting its URL for errors about its answer. */
  protected async get(request: RegistryRequest, signal: AbortSignal): Promise<RegistryResponse> {
    const response = await this.http.get(request, signal);
    this.#lastUrl = response.url;
    return response;
  }

  /** A `RegistryError` about the last answer received. */
  protected answerError(code: RegistryErrorCode, detail: string, dropped?: readonly DroppedRecord[]): RegistryError {
    return new RegistryError(code, this.http.context(this.#lastUrl), this.http.redact(detail), { dropped });
  }

  protected override async onClose(): Promise<void> {
    this.#signal?.removeEventListener("abort", this.#onAbort);
    await super.onClose();
  }

  protected retryable(error: Error): boolean {
    return error instanceof RegistryError && error.retryable;
  }

  protected override retryAtOnce(error: Error): boolean {
    return error instanceof RegistryError && error.code === "ERR_REGISTRY_STALLED";
  }

  protected emptyAnswerError(): Error {
    return this.answerError("ERR_REGISTRY_EMPTY", "the registry lists no instance");
  }

  protected unconfirmedEmptyError(error: Error, kept: number, left: number): Error {
    const e = error as RegistryError;
    return new RegistryError(
      e.code,
      this.http.context(e.url),
      `${e.detail}; keeping the last good set of ${kept} endpoint(s) until ${left} more refresh(es) confirm the empty answer`,
      { cause: e, status: e.status },
    );
  }

  protected invalidRecordsError(dropped: readonly DroppedRecord[]): Error {
    const list = dropped.map((d) => `${d.record} (${d.reason})`).join("; ");
    return this.answerError("ERR_REGISTRY_INVALID_INSTANCE", `${dropped.length} instance(s) dropped: ${list}`, dropped);
  }
}
