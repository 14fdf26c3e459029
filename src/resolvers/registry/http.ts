import type { Clock } from "../../clock.js";
import { BodyProblem, bodySnippet, parseJson, readBody } from "./body.js";
import type { Credentials } from "./credentials.js";
import type { RegistryErrorContext } from "./error.js";
import { RegistryError } from "./error.js";
import { readLines } from "./lines.js";
import type { RegistryDeadline } from "./request-life.js";
import { RequestLife } from "./request-life.js";

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
  /** Told at once when a request stalls (a blocking query, or an exchange gone silent), before it is sent again. */
  readonly onStall: (error: RegistryError) => void;
  /** More redaction, after the credentials': secrets the registry's own client holds (etcd: its password and tokens). */
  readonly redact?: ((text: string) => string) | undefined;
  /**
   * The registry's own message in the body of an error answer (etcd: the
   * `message` of its JSON), quoted instead of the body; `undefined` when
   * there is none.
   */
  readonly errorMessage?: ((body: string) => string | undefined) | undefined;
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
  /** Headers of this request only, set over the configured ones: `{ authorization: token }`. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
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

/** A request whose answer `exchange()` reads as it comes: a stream of JSON messages (etcd's watch). */
export interface RegistryExchangeRequest extends RequestParts {
  /** Until the answer's first message. Default: `timeoutMs`, missed as `ERR_REGISTRY_TIMEOUT`. */
  readonly deadline?: RegistryDeadline | undefined;
  /** From the first message on: the longest silence between two. Default: none, `deadline` runs to the end. */
  readonly stall?: RegistryDeadline | undefined;
}

/** The 2xx answer of an `exchange()`, handed to its reader. */
export interface RegistryExchange {
  /** The context of errors about the answer. */
  readonly context: RegistryErrorContext;
  /**
   * Reads the body as JSON messages, one per line (grpc-gateway's framing;
   * blank lines skipped), handing each to `onMessage` until it returns
   * false or the body ends. Each message is a sign of life (see
   * `RegistryExchangeRequest.stall`). A message over `maxBodyBytes` is
   * `ERR_REGISTRY_TOO_LARGE`, one that is not JSON `ERR_REGISTRY_BODY`;
   * what `onMessage` throws ends the exchange.
   */
  messages(onMessage: (message: unknown) => boolean): Promise<void>;
}

/** What every request has. */
type RequestParts = Pick<RegistryRequest, "method" | "path" | "query" | "json" | "headers">;

/** A request about to be sent (see `RegistryHttp.#prepare`). */
interface Sending {
  readonly url: URL;
  /** The `fetch` options; headers may still be added. */
  readonly init: RequestInit & { headers: Headers };
  readonly context: RegistryErrorContext;
  readonly life: RequestLife;
}

/** Bytes of an error answer's body quoted in the error message. */
const SNIPPET_BYTES = 512;
const SNIPPET_CHARS = 200;

/**
 * The HTTP layer every registry resolver and registrar shares: requests
 * with the global `fetch` (https verifies certificates, as `fetch` always
 * does), credentials in headers only, a Clock-driven deadline (`timeoutMs`, or `stallFactor` ×
 * the wait of a blocking query; for a stream, a silence limit) that aborts the request, a cap on the body,
 * redirects refused (a token never follows one to another origin), strict
 * JSON, and failover: a retryable failure moves to the next base URL.
 * Every failure is a `RegistryError` whose message holds no credential (nor
 * the registry client's own secrets: `redact`).
 *
 * Three kinds of request: `send()` (one answer, parsed), `open()` (a
 * streaming GET read chunk by chunk: Kubernetes' watch) and `exchange()`
 * (an answer of JSON messages read as they come: etcd's watch).
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
    const c = this.#config;
    const out = c.credentials.redact(text);
    return c.redact === undefined ? out : c.redact(out);
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
  send(request: RegistryRequest, signal: AbortSignal): Promise<RegistryResponse> {
    const { blockingMs: waitMs, base } = request;
    const factor = this.#config.stallFactor;
    const ms = Math.ceil((waitMs ?? 0) * factor);
    const detail = `blocking query silent for ${ms} ms (${factor} × the ${waitMs} ms it may be held); sending it again`;
    const deadline = waitMs === undefined ? undefined : ({ ms, code: "ERR_REGISTRY_STALLED", detail } as const);
    return this.#request({ ...request, deadline }, base, signal, (s) => this.#answer(s, request));
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
    const index = this.#current;
    // Every chunk, the headers included, is a sign of life: one silence limit from start to end.
    const stall: RegistryDeadline = { ms: request.stallMs, code: "ERR_REGISTRY_STALLED", detail: request.stall };
    const life = new RequestLife(c.clock, signal, stall, stall);
    const { url, init, context } = this.#prepare(request, index, life);
    let closedWith: { reason: unknown } | undefined;
    /** The error a failure of the request or its body is. */
    const failure = (caught: unknown): unknown => {
      life.abort();
      if (signal.aborted) return signal.reason;
      if (closedWith !== undefined) return closedWith.reason;
      return this.#failed(caught, life, context, index);
    };
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    try {
      const response = await c.fetch(url, init);
      if (response.status < 200 || response.status > 299) throw await this.#statusError(response, context);
      life.live();
      reader = response.body?.getReader();
    } catch (caught) {
      throw failure(caught);
    }
    let failed: { error: unknown } | undefined;
    return {
      url: context.url as string,
      read: async () => {
        if (closedWith !== undefined) throw closedWith.reason;
        if (failed !== undefined) throw failed.error;
        if (reader === undefined || life.ended) return undefined;
        try {
          const { done, value } = await reader.read();
          const closed = closedWith as { reason: unknown } | undefined; // set by close() while the read waited
          if (closed !== undefined) throw closed.reason;
          if (done) {
            life.end();
            return undefined;
          }
          life.live();
          return value;
        } catch (caught) {
          failed ??= { error: failure(caught) };
          throw failed.error;
        }
      },
      close: (reason) => {
        if (closedWith !== undefined || failed !== undefined) return;
        closedWith = { reason };
        life.abort(reason);
        reader?.cancel(reason).catch(() => {});
      },
    };
  }

  /**
   * Sends `request` to the current base URL and, once a 2xx status is in,
   * hands its answer to `read` (which reads its messages as they come);
   * resolves with what `read` resolves with. The answer is read under the
   * request's rules: `deadline` until the first message, then `stall`
   * between two; every failure, what `read` throws included, is a
   * `RegistryError`, and a retryable one moves to the next base URL.
   * Rejects with a `RegistryError`, or with `signal`'s reason when it
   * aborts. The request ends with the returned promise: no timer or socket
   * is left.
   */
  exchange<T>(
    request: RegistryExchangeRequest,
    signal: AbortSignal,
    read: (answer: RegistryExchange) => Promise<T>,
  ): Promise<T> {
    return this.#request(request, undefined, signal, async ({ url, init, context, life }) => {
      const response = await this.#config.fetch(url, init);
      if (response.status < 200 || response.status > 299) throw await this.#statusError(response, context);
      return read({ context, messages: (onMessage) => this.#messages(response, life, onMessage) });
    });
  }

  /**
   * One request of `send()` or `exchange()`: `run` sends it and reads its
   * answer within its deadline (`timeoutMs` unless `deadline`, then
   * `stall`), to the base URL at `base` (pinned there) or the current one.
   * Every failure is classified by `#failed()`; a stall is told to `onStall`.
   */
  async #request<T>(
    request: RegistryExchangeRequest,
    base: number | undefined,
    signal: AbortSignal,
    run: (sent: Sending) => Promise<T>,
  ): Promise<T> {
    if (signal.aborted) throw signal.reason;
    const c = this.#config;
    const index = base ?? this.#current;
    const life = new RequestLife(c.clock, signal, request.deadline ?? this.#timeout(), request.stall);
    const sent = this.#prepare(request, index, life);
    const { context } = sent;
    try {
      return await run(sent);
    } catch (caught) {
      if (signal.aborted) throw signal.reason;
      const error = this.#failed(caught, life, context, base === undefined ? index : undefined);
      if (error.code === "ERR_REGISTRY_STALLED") c.onStall(error);
      throw error;
    } finally {
      life.end();
    }
  }

  /** The URL of `request` on the base URL at `index`, its `fetch` options, and the context of errors about it. */
  #prepare(request: RequestParts, index: number, life: RequestLife): Sending {
    const c = this.#config;
    const url = new URL(request.path, c.bases[index]);
    for (const [name, value] of request.query ?? []) url.searchParams.append(name, value);
    const headers = c.credentials.headers();
    for (const [name, value] of Object.entries(request.headers ?? {})) headers.set(name, value);
    const init: Sending["init"] = { method: request.method ?? "GET", headers, signal: life.signal, redirect: "manual" };
    if (request.json !== undefined) {
      headers.set("content-type", "application/json");
      init.body = JSON.stringify(request.json);
    }
    return { url, init, context: this.context(c.credentials.urlText(url), request.method), life };
  }

  /** The deadline of a plain request. */
  #timeout(): RegistryDeadline {
    const ms = this.#config.timeoutMs;
    return { ms, code: "ERR_REGISTRY_TIMEOUT", detail: `no complete answer within ${ms} ms` };
  }

  /** `send()`'s request, then its status, validators and JSON body. */
  async #answer({ url, init, context }: Sending, request: RegistryRequest): Promise<RegistryResponse> {
    const c = this.#config;
    const key = url.href;
    const validators = request.conditional === true ? this.#validators.get(key) : undefined;
    if (validators?.etag != null) init.headers.set("if-none-match", validators.etag);
    if (validators?.modified != null) init.headers.set("if-modified-since", validators.modified);
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
    const body = parseJson(await readBody(response, c.maxBodyBytes));
    if (request.conditional === true) {
      const etag = response.headers.get("etag");
      const modified = response.headers.get("last-modified");
      if (etag !== null || modified !== null) this.#validators.set(key, { etag, modified });
      else this.#validators.delete(key);
    }
    return { status, headers: response.headers, body, notModified: false, url: shown };
  }

  /** `exchange()`'s messages: the body's lines as JSON, each a sign of life. */
  async #messages(response: Response, life: RequestLife, onMessage: (message: unknown) => boolean): Promise<void> {
    if (response.body === null) return;
    await readLines(response.body, this.#config.maxBodyBytes, (line) => {
      life.live();
      return onMessage(parseJson(line));
    });
  }

  /**
   * What `caught`, a failure of a request or of reading its answer, is: a
   * `RegistryError` as it is, a body over the cap or not JSON, the deadline
   * missed, or else a connection failure. The request is aborted (its
   * connection closed); a retryable failure of the base URL at `index`
   * (none: a pinned request) moves to the next, unless another request
   * moved already.
   */
  #failed(caught: unknown, life: RequestLife, context: RegistryErrorContext, index: number | undefined): RegistryError {
    life.abort();
    const missed = life.missed;
    let error: RegistryError;
    if (caught instanceof RegistryError) error = caught;
    else if (caught instanceof BodyProblem) {
      error =
        caught.kind === "too-large"
          ? new RegistryError("ERR_REGISTRY_TOO_LARGE", context, caught.message)
          : new RegistryError("ERR_REGISTRY_BODY", context, this.redact(caught.message));
    } else if (missed !== undefined) error = new RegistryError(missed.code, context, missed.detail);
    else error = this.#connectError(caught, context);
    if (error.retryable && index === this.#current) this.#current = (index + 1) % this.#config.bases.length;
    return error;
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
          const shown = c.credentials.urlText(new URL(location, response.url || undefined));
          where = ` to ${c.redact === undefined ? shown : c.redact(shown)}`;
        } catch {
          where = "";
        }
      }
      return new RegistryError("ERR_REGISTRY_HTTP", context, `${label}: redirect${where} not followed`, { status });
    }
    const body = await bodySnippet(response, SNIPPET_BYTES);
    const snippet = this.redact(c.errorMessage?.(body) ?? body);
    const text = snippet.length > SNIPPET_CHARS ? `${snippet.slice(0, SNIPPET_CHARS)}…` : snippet;
    return new RegistryError("ERR_REGISTRY_HTTP", context, text === "" ? label : `${label}: ${text}`, { status });
  }

  /** A failure of `fetch` itself or of the body stream: no connection, TLS refused, reset mid-answer. */
  #connectError(caught: unknown, context: RegistryErrorContext): RegistryError {
    const cause = (caught as { cause?: unknown })?.cause ?? caught;
    const code = typeof (cause as { code?: unknown })?.code === "string" ? (cause as { code: string }).code : undefined;
    const message = cause instanceof Error ? cause.message : String(cause);
    const detail = this.redact(`connection failed: ${message}${code === undefined ? "" : ` (${code})`}`);
    return new RegistryError("ERR_REGISTRY_CONNECT", context, detail, { cause: caught });
  }
}
