import type { Clock } from "../../clock.js";
import { BodyProblem, bodySnippet, parseJson, readBody } from "./body.js";
import type { Credentials } from "./credentials.js";
import type { RegistryErrorContext } from "./error.js";
import { RegistryError } from "./error.js";
import { Watchdog } from "./watchdog.js";

/** How a registry resolver's requests are made: the global `fetch`, credentials in headers, a deadline, a size cap. Internal. */
export interface RegistryHttpConfig {
  /** The kind of registry, for errors: `"consul"`. */
  readonly registry: string;
  /** The resolver's name, for errors. */
  readonly resolver: string;
  /** Base URLs (each ending in `/`), tried in turn: a failure moves to the next (agent failover). */
  readonly bases: readonly URL[];
  readonly credentials: Credentials;
  /** Deadline of a plain request, ms. */
  readonly timeoutMs: number;
  /** A blocking request's deadline is this multiple of the time it may block. */
  readonly stallFactor: number;
  readonly maxBodyBytes: number;
  readonly clock: Clock;
  readonly fetch: typeof globalThis.fetch;
  /** Told at once when a blocking request stalls, before it is sent again. */
  readonly onStall: (error: RegistryError) => void;
}

/** The methods a registry request may use. */
export type RegistryMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** One request to a registry: a resolver's GET, or a registrar's write. */
export interface RegistryRequest {
  /** Default `"GET"`. Only a GET may be conditional or blocking. */
  readonly method?: RegistryMethod;
  /** Path relative to the base URL, already encoded: `"v1/health/service/api"`. */
  readonly path: string;
  /** A body, sent as JSON (`content-type: application/json`). */
  readonly json?: unknown;
  /**
   * A 2xx answer's body is not read (a write whose answer is not needed, and
   * may be empty or not JSON): it is cancelled, and `body` is `undefined`.
   */
  readonly ignoreBody?: boolean;
  /**
   * Send to the base URL at this index, and stay there whatever happens (a
   * failure does not move to the next): a registrar undoing what it did at
   * one agent. Default: the base URL in use now, with failover.
   */
  readonly base?: number;
  /** Query parameters, in order. */
  readonly query?: readonly (readonly [string, string])[];
  /**
   * A blocking query that the registry may hold for up to this long (ms,
   * its wait plus the registry's own jitter): its deadline is
   * `stallFactor` × this, and missing it is a stall (`ERR_REGISTRY_STALLED`),
   * not a timeout.
   */
  readonly blockingMs?: number | undefined;
  /** Send `If-None-Match` / `If-Modified-Since` from the last 200 of this URL; a 304 is `notModified`. */
  readonly conditional?: boolean;
  /**
   * Tells from a 2xx answer's headers that it is the answer already held
   * (Consul: the `X-Consul-Index` sent came back): its body is not read,
   * and the response is `notModified`.
   */
  readonly unchanged?: ((headers: Headers) => boolean) | undefined;
}

/** A registry's 2xx answer. */
export interface RegistryResponse {
  readonly status: number;
  readonly headers: Headers;
  /** The parsed JSON body; `undefined` when `notModified`. */
  readonly body: unknown;
  /** A conditional request answered 304, or `unchanged` said so: nothing changed since the last answer read. */
  readonly notModified: boolean;
  /** The URL asked, as errors show it (no credentials). */
  readonly url: string;
}

/** A streaming GET to a registry (a watch): its body is read as it comes. */
export interface RegistryStreamRequest {
  /** Path relative to the base URL, already encoded. */
  readonly path: string;
  /** Query parameters, in order. */
  readonly query?: readonly (readonly [string, string])[];
  /**
   * Longest silence, ms (no byte of the answer, headers included): past it
   * the request is torn down and fails as `ERR_REGISTRY_STALLED`.
   */
  readonly stallMs: number;
  /** What the stall error says after the URL: `"no event and no bookmark for ..."`. */
  readonly stall: string;
}

/** The body of a streaming GET, read chunk by chunk. */
export interface RegistryStream {
  /** The URL asked, as errors show it (no credentials). */
  readonly url: string;
  /**
   * The next chunk of the body, or `undefined` at its end. Rejects with a
   * `RegistryError` (`ERR_REGISTRY_STALLED` after `stallMs` of silence,
   * `ERR_REGISTRY_CONNECT` when the connection broke), with the signal's
   * reason when it aborted, or with the reason given to `close()`.
   */
  read(): Promise<Uint8Array | undefined>;
  /** Ends the request (its connection is closed) and its stall timer; a pending `read()` rejects with `reason`. Idempotent. */
  close(reason: unknown): void;
}

/** Bytes of an error answer's body quoted in the error message. */
const SNIPPET_BYTES = 512;
const SNIPPET_CHARS = 200;

/**
 * The HTTP layer every registry resolver and registrar shares: requests
 * with the global `fetch` (https verifies certificates, as `fetch` always
 * does), credentials in headers only, a Clock-driven deadline (`timeoutMs`, or `stallFactor` ×
 * the wait of a blocking query) that aborts the request, a cap on the body,
 * redirects refused (a token never follows one to another origin), strict
 * JSON, and failover: a retryable failure moves to the next base URL.
 * Every failure is a `RegistryError` whose message holds no credential.
 */
export class RegistryHttp {
  readonly #config: RegistryHttpConfig;
  readonly #validators = new Map<string, { etag: string | null; modified: string | null }>();
  #current = 0;

  constructor(config: RegistryHttpConfig) {
    this.#config = config;
  }

  /** The base URL in use now, as errors show it. */
  get base(): string {
    return this.#config.credentials.urlText(this.#config.bases[this.#current] as URL);
  }

  /** How many base URLs there are to fail over between. */
  get baseCount(): number {
    return this.#config.bases.length;
  }

  /** The index of the base URL in use now (see `RegistryRequest.base`). */
  get current(): number {
    return this.#current;
  }

  /** The context of an error about `url` (shown form) asked with `method` (default GET), or about no request. */
  context(url?: string, method?: RegistryMethod): RegistryErrorContext {
    const context = { resolver: this.#config.resolver, registry: this.#config.registry, url };
    return method === undefined || method === "GET" ? context : { ...context, method };
  }

  /** Forgets the validators of conditional requests: the next request asks for the whole answer. */
  forgetValidators(): void {
    this.#validators.clear();
  }

  /** `text` with every credential redacted, for messages built outside this class. */
  redact(text: string): string {
    return this.#config.credentials.redact(text);
  }

  /**
   * GETs `request` from the current base URL and parses its JSON body
   * (`send()` with the method GET, whatever `request.method` says).
   * Rejects with a `RegistryError`, or with `signal`'s reason when it aborts.
   */
  get(request: RegistryRequest, signal: AbortSignal): Promise<RegistryResponse> {
    return this.send(request.method === undefined ? request : { ...request, method: "GET" }, signal);
  }

  /**
   * Sends `request` to the current base URL (or to `request.base`) and
   * parses its JSON body unless `ignoreBody`. Rejects with a
   * `RegistryError`, or with `signal`'s reason when it aborts.
   */
  async send(request: RegistryRequest, signal: AbortSignal): Promise<RegistryResponse> {
    if (signal.aborted) throw signal.reason;
    const c = this.#config;
    const pinned = request.base;
    const index = pinned ?? this.#current;
    const url = new URL(request.path, c.bases[index]);
    for (const [name, value] of request.query ?? []) url.searchParams.append(name, value);
    const shown = c.credentials.urlText(url);
    const context = this.context(shown, request.method);
    const blocking = request.blockingMs !== undefined;
    const limit = blocking ? Math.ceil((request.blockingMs as number) * c.stallFactor) : c.timeoutMs;
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const deadline = new Watchdog(c.clock, limit, () => controller.abort(new Error("deadline")));
    try {
      return await this.#exchange(url, request, controller.signal, context);
    } catch (caught) {
      if (signal.aborted) throw signal.reason;
      const error =
        caught instanceof RegistryError
          ? caught
          : deadline.expired
            ? blocking
              ? new RegistryError(
                  "ERR_REGISTRY_STALLED",
                  context,
                  `blocking query silent for ${limit} ms (${c.stallFactor} × the ${request.blockingMs} ms it may be held); sending it again`,
                )
              : new RegistryError("ERR_REGISTRY_TIMEOUT", context, `no complete answer within ${limit} ms`)
            : this.#connectError(caught, context);
      if (error.retryable && pinned === undefined && index === this.#current) {
        this.#current = (this.#current + 1) % c.bases.length;
      }
      if (error.code === "ERR_REGISTRY_STALLED") c.onStall(error);
      throw error;
    } finally {
      deadline.cancel();
      signal.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Opens a streaming GET (a watch) on the current base URL: resolves once
   * a 2xx status and its headers are in, with the body to read as it
   * comes. A silence of `stallMs` at any point (before the headers, between
   * two chunks) tears the request down as `ERR_REGISTRY_STALLED`; a status
   * other than 2xx rejects as `get()` does (`ERR_REGISTRY_HTTP`, `status`
   * set); a retryable failure moves to the next base URL. The request ends
   * when the body ends, fails, `close()` is called, or `signal` aborts:
   * no timer or socket is left.
   */
  async open(request: RegistryStreamRequest, signal: AbortSignal): Promise<RegistryStream> {
    if (signal.aborted) throw signal.reason;
    const c = this.#config;
    const url = new URL(request.path, c.bases[this.#current]);
    for (const [name, value] of request.query ?? []) url.searchParams.append(name, value);
    const shown = c.credentials.urlText(url);
    const context = this.context(shown);
    const controller = new AbortController();
    let ended = false;
    let closedWith: { reason: unknown } | undefined;
    const end = () => {
      if (ended) return;
      ended = true;
      watchdog.cancel();
      signal.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      end();
      controller.abort(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const watchdog = new Watchdog(c.clock, request.stallMs, () => controller.abort(new Error("stalled")));
    /** The error a failure of the request or its body is. */
    const failure = (caught: unknown): unknown => {
      end();
      controller.abort();
      if (signal.aborted) return signal.reason;
      if (closedWith !== undefined) return closedWith.reason;
      const error =
        caught instanceof RegistryError
          ? caught
          : watchdog.expired
            ? new RegistryError("ERR_REGISTRY_STALLED", context, request.stall)
            : this.#connectError(caught, context);
      if (error.retryable) this.#current = (this.#current + 1) % c.bases.length;
      return error;
    };
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    try {
      const response = await c.fetch(url, {
        headers: c.credentials.headers(),
        signal: controller.signal,
        redirect: "manual",
      });
      if (response.status < 200 || response.status > 299) throw await this.#statusError(response, context);
      watchdog.feed();
      reader = response.body?.getReader();
    } catch (caught) {
      throw failure(caught);
    }
    let failed: { error: unknown } | undefined;
    return {
      url: shown,
      read: async () => {
        if (closedWith !== undefined) throw closedWith.reason;
        if (failed !== undefined) throw failed.error;
        if (reader === undefined || ended) return undefined;
        try {
          const { done, value } = await reader.read();
          const closed = closedWith as { reason: unknown } | undefined; // set by close() while the read waited
          if (closed !== undefined) throw closed.reason;
          if (done) {
            end();
            return undefined;
          }
          watchdog.feed();
          return value;
        } catch (caught) {
          failed ??= { error: failure(caught) };
          throw failed.error;
        }
      },
      close: (reason) => {
        if (closedWith !== undefined || failed !== undefined) return;
        closedWith = { reason };
        end();
        controller.abort(reason);
        reader?.cancel(reason).catch(() => {});
      },
    };
  }

  async #exchange(
    url: URL,
    request: RegistryRequest,
    signal: AbortSignal,
    context: RegistryErrorContext,
  ): Promise<RegistryResponse> {
    const c = this.#config;
    const headers = c.credentials.headers();
    const key = url.href;
    const validators = request.conditional === true ? this.#validators.get(key) : undefined;
    if (validators?.etag != null) headers.set("if-none-match", validators.etag);
    if (validators?.modified != null) headers.set("if-modified-since", validators.modified);
    const init: RequestInit = { method: request.method ?? "GET", headers, signal, redirect: "manual" };
    if (request.json !== undefined) {
      headers.set("content-type", "application/json");
      init.body = JSON.stringify(request.json);
    }
    const response = await c.fetch(url, init);
    const { status } = response;
    const shown = context.url as string;
    if (status === 304 && validators !== undefined) {
      await response.body?.cancel().catch(() => {});
      return { status, headers: response.headers, body: undefined, notModified: true, url: shown };
    }
    if (status < 200 || status > 299) throw await this.#statusError(response, context);
    if (request.ignoreBody === true || request.unchanged?.(response.headers) === true) {
      await response.body?.cancel().catch(() => {});
      const notModified = request.ignoreBody !== true;
      return { status, headers: response.headers, body: undefined, notModified, url: shown };
    }
    let bytes: Uint8Array;
    try {
      bytes = await readBody(response, c.maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyProblem) throw new RegistryError("ERR_REGISTRY_TOO_LARGE", context, error.message);
      throw error; // a transport error: classified by the caller
    }
    let body: unknown;
    try {
      body = parseJson(bytes);
    } catch (error) {
      throw new RegistryError("ERR_REGISTRY_BODY", context, c.credentials.redact((error as Error).message));
    }
    if (request.conditional === true) {
      const etag = response.headers.get("etag");
      const modified = response.headers.get("last-modified");
      if (etag !== null || modified !== null) this.#validators.set(key, { etag, modified });
      else this.#validators.delete(key);
    }
    return { status, headers: response.headers, body, notModified: false, url: shown };
  }

  async #statusError(response: Response, context: RegistryErrorContext): Promise<RegistryError> {
    const { status } = response;
    const c = this.#config;
    const label = `HTTP ${status}${response.statusText === "" ? "" : ` ${response.statusText}`}`;
    if (status >= 300 && status < 400) {
      await response.body?.cancel().catch(() => {});
      const location = response.headers.get("location");
      let where = "";
      if (location !== null) {
        try {
          where = ` to ${c.credentials.urlText(new URL(location, response.url || undefined))}`;
        } catch {
          where = "";
        }
      }
      return new RegistryError("ERR_REGISTRY_HTTP", context, `${label}: redirect${where} not followed`, { status });
    }
    const snippet = c.credentials.redact(await bodySnippet(response, SNIPPET_BYTES));
    const text = snippet.length > SNIPPET_CHARS ? `${snippet.slice(0, SNIPPET_CHARS)}…` : snippet;
    return new RegistryError("ERR_REGISTRY_HTTP", context, text === "" ? label : `${label}: ${text}`, { status });
  }

  /** A failure of `fetch` itself or of the body stream: no connection, TLS refused, reset mid-answer. */
  #connectError(caught: unknown, context: RegistryErrorContext): RegistryError {
    const cause = (caught as { cause?: unknown })?.cause ?? caught;
    const code = typeof (cause as { code?: unknown })?.code === "string" ? (cause as { code: string }).code : undefined;
    const message = cause instanceof Error ? cause.message : String(cause);
    const detail = this.#config.credentials.redact(
      `connection failed: ${message}${code === undefined ? "" : ` (${code})`}`,
    );
    return new RegistryError("ERR_REGISTRY_CONNECT", context, detail, { cause: caught });
  }
}
