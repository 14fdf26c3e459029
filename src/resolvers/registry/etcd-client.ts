import type { Clock } from "../../clock.js";
import { BodyProblem, bodySnippet, parseJson, readBody } from "./body.js";
import type { Credentials } from "./credentials.js";
import type { RegistryErrorContext } from "./error.js";
import { RegistryError } from "./error.js";
import type { EtcdWatchMessage } from "./etcd-watch-message.js";
import { parseEtcdWatchMessage } from "./etcd-watch-message.js";
import { describe, isObject } from "./instances.js";
import { readLines } from "./lines.js";
import { Watchdog } from "./watchdog.js";

/** What an `EtcdClient` is built from. Internal. */
export interface EtcdClientConfig {
  /** The resolver's or registrar's name, for errors. */
  readonly name: string;
  /** The members' client URLs (each ending in `/`), tried in turn: a failure moves to the next. */
  readonly bases: readonly URL[];
  readonly credentials: Credentials;
  /** etcd's own authentication: a token from `/v3/auth/authenticate`, renewed when etcd says it is invalid. */
  readonly auth: { readonly username: string; readonly password: string } | undefined;
  /** Deadline of a request (a watch: until etcd says it is created), ms. */
  readonly timeoutMs: number;
  /** Largest answer, or message of a stream, in bytes. */
  readonly maxBodyBytes: number;
  readonly clock: Clock;
  readonly fetch: typeof globalThis.fetch;
}

/** How a watch is kept. */
export interface EtcdWatchOptions {
  /** Ends the watch (the promise then rejects with its reason). */
  readonly signal: AbortSignal;
  /** Once created, a watch silent this long (no event, no progress notification) is a stall, ms. */
  readonly stallMs: number;
  /** Why `stallMs`, for the stall error: `"3 × the 600000 ms progress interval"`. */
  readonly stallWhy: string;
  /** Called with each message, in order, from `created` on; a `canceled` one ends the watch instead. */
  readonly onMessage: (message: EtcdWatchMessage) => void;
}

/** Messages etcd gives when a token must be asked again: expired or unknown, or issued before a change of users. */
const STALE_TOKEN = /invalid auth token|auth store is old|auth token is expired/i;
const SNIPPET_BYTES = 512;

/**
 * A client of etcd's v3 JSON gateway, as the etcd resolver and registrar
 * use it: every call a POST of JSON (`/v3/kv/range`, `/v3/lease/grant`...),
 * and the two streams they need: a watch (`/v3/watch`: one JSON message per
 * line, for as long as it lasts) and a lease keepalive (its first message).
 * The shared rules of the registry HTTP layer hold: the global `fetch`, a
 * Clock-driven deadline, a cap on every answer and message, redirects
 * refused, credentials in headers only and redacted from every message,
 * and failover: a retryable failure moves to the next member.
 *
 * etcd authentication (`username`, `password`): the token of
 * `/v3/auth/authenticate` goes in `Authorization`; when etcd answers that
 * it is invalid (expired: simple tokens last 5 minutes unused), a new one
 * is asked and the call sent once more.
 */
export class EtcdClient {
  readonly #config: EtcdClientConfig;
  #current = 0;
  #token: string | undefined;
  /** The token before the current one: still redacted from messages. */
  #previousToken: string | undefined;

  constructor(config: EtcdClientConfig) {
    this.#config = config;
  }

  /** The member asked now, as errors show it. */
  get url(): string {
    return this.#config.credentials.urlText(this.#config.bases[this.#current] as URL);
  }

  /** `text` with every credential redacted. */
  redact(text: string): string {
    let out = this.#config.credentials.redact(text);
    for (const secret of [this.#config.auth?.password, this.#token, this.#previousToken]) {
      if (secret !== undefined && secret.length >= 4 && out.includes(secret))
        out = out.split(secret).join("<redacted>");
    }
    return out;
  }

  /**
   * POSTs `body` to `path` (`"v3/kv/range"`) and returns etcd's JSON object
   * answer with the context of errors about it. Rejects with a
   * `RegistryError`, or `signal`'s reason when it aborts.
   */
  call(
    path: string,
    body: Readonly<Record<string, unknown>>,
    signal: AbortSignal,
  ): Promise<{ body: Record<string, unknown>; context: RegistryErrorContext }> {
    return this.#authorized(signal, (token) =>
      this.#exchange(path, body, token, signal, undefined, (response, context) => this.#object(response, context)),
    );
  }

  /**
   * POSTs `body` to a streaming method that answers once (`"v3/lease/keepalive"`)
   * and returns its first message's `result`; the stream is then closed.
   * A stream error (`{"error": ...}`) is `ERR_REGISTRY_CONNECT`.
   */
  first(
    path: string,
    body: Readonly<Record<string, unknown>>,
    signal: AbortSignal,
  ): Promise<{ result: Record<string, unknown>; context: RegistryErrorContext }> {
    return this.#authorized(signal, (token) =>
      this.#exchange(path, body, token, signal, undefined, async (response, context) => {
        let line: unknown;
        await this.#lines(response, context, (message) => {
          line = message;
          return false;
        });
        if (line === undefined) throw new RegistryError("ERR_REGISTRY_CONNECT", context, "the stream ended empty");
        if (isObject(line) && line.error !== undefined) {
          const error = line.error;
          const text = isObject(error) && typeof error.message === "string" ? error.message : describe(error);
          throw new RegistryError("ERR_REGISTRY_CONNECT", context, this.redact(`the stream failed: ${text}`));
        }
        if (!isObject(line) || !isObject(line.result)) {
          throw new RegistryError("ERR_REGISTRY_BODY", context, `expected {"result": {...}}, got ${describe(line)}`);
        }
        return { result: line.result, context };
      }),
    );
  }

  /**
   * Opens a watch (`POST /v3/watch` with `{ create_request }`) and hands
   * each of its messages to `onMessage` until it ends; never resolves.
   * Rejects with `signal`'s reason when it aborts, or with a
   * `RegistryError`: `ERR_REGISTRY_TIMEOUT` (no first message within
   * `timeoutMs`), `ERR_REGISTRY_STALLED` (silent for `stallMs` after it),
   * `ERR_REGISTRY_CONNECT` (the stream broke or ended, or etcd wrote a
   * stream error), `ERR_REGISTRY_HTTP` (a status other than 2xx, or etcd
   * canceled the watch), `ERR_REGISTRY_BODY` or `_TOO_LARGE` (a message
   * that cannot be read).
   */
  watch(request: Readonly<Record<string, unknown>>, options: EtcdWatchOptions): Promise<never> {
    const { signal } = options;
    return this.#authorized(signal, (token) =>
      this.#exchange(
        "v3/watch",
        { create_request: request },
        token,
        signal,
        options,
        async (response, context, pulse) => {
          await this.#lines(response, context, (line) => {
            pulse();
            const message = parseEtcdWatchMessage(line, context);
            if (message.kind === "canceled") {
              throw new RegistryError(
                "ERR_REGISTRY_HTTP",
                context,
                this.redact(`etcd canceled the watch: ${message.reason}`),
                STALE_TOKEN.test(message.reason) ? { status: 401 } : undefined,
              );
            }
            options.onMessage(message);
            return true;
          });
          throw new RegistryError("ERR_REGISTRY_CONNECT", context, "the watch stream ended");
        },
      ),
    );
  }

  /** Runs `send` with the current token (asking for one first); once more with a new one when etcd says it is stale. */
  async #authorized<T>(signal: AbortSignal, send: (token: string | undefined) => Promise<T>): Promise<T> {
    const auth = this.#config.auth;
    if (auth === undefined) return send(undefined);
    for (let attempt = 0; ; attempt++) {
      let token = this.#token;
      if (token === undefined) {
        const credentials = { name: auth.username, password: auth.password };
        const { body, context } = await this.#exchange(
          "v3/auth/authenticate",
          credentials,
          undefined,
          signal,
          undefined,
          (r, c) => this.#object(r, c),
        );
        token = this.#take(body, context);
      }
      try {
        return await send(token);
      } catch (error) {
        const stale =
          error instanceof RegistryError && error.status === 401 && STALE_TOKEN.test(error.detail) && attempt === 0;
        if (!stale) throw error;
        if (this.#token === token) {
          this.#previousToken = token;
          this.#token = undefined;
        }
      }
    }
  }

  /** Keeps the token of an `/v3/auth/authenticate` answer. */
  #take(body: Record<string, unknown>, context: RegistryErrorContext): string {
    const token = body.token;
    if (typeof token !== "string" || token === "" || /[\r\n\0]/.test(token)) {
      throw new RegistryError("ERR_REGISTRY_BODY", context, "authenticate answered no usable token");
    }
    if (this.#token !== undefined) this.#previousToken = this.#token;
    this.#token = token;
    return token;
  }

  /**
   * One POST to the current member: a deadline (`timeoutMs`; for a watch,
   * until its first message, then `stallMs` of silence, restarted by each
   * `pulse()`), the status checked, then `read` with the response.
   * Failures are classified as `RegistryError`s, and a retryable one moves
   * to the next member.
   */
  async #exchange<T>(
    path: string,
    body: Readonly<Record<string, unknown>>,
    token: string | undefined,
    signal: AbortSignal,
    watch: EtcdWatchOptions | undefined,
    read: (response: Response, context: RegistryErrorContext, pulse: () => void) => Promise<T>,
  ): Promise<T> {
    if (signal.aborted) throw signal.reason;
    const c = this.#config;
    const url = new URL(path, c.bases[this.#current]);
    const context: RegistryErrorContext = {
      resolver: c.name,
      registry: "etcd",
      url: c.credentials.urlText(url),
      method: "POST",
    };
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    let stalled = false;
    let live = false;
    let deadline = new Watchdog(c.clock, c.timeoutMs, () => controller.abort(new Error("deadline")));
    const pulse = () => {
      if (live) {
        deadline.feed();
        return;
      }
      live = true;
      deadline.cancel();
      deadline = new Watchdog(c.clock, watch?.stallMs ?? c.timeoutMs, () => {
        stalled = true;
        controller.abort(new Error("stalled"));
      });
    };
    try {
      const headers = c.credentials.headers();
      headers.set("content-type", "application/json");
      if (token !== undefined) headers.set("authorization", token);
      const response = await c.fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: controller.signal,
        redirect: "manual",
      });
      if (response.status < 200 || response.status > 299) throw await this.#statusError(response, context);
      return await read(response, context, pulse);
    } catch (caught) {
      if (signal.aborted) throw signal.reason;
      let error: RegistryError;
      if (caught instanceof RegistryError) error = caught;
      else if (stalled) {
        const detail = `the watch was silent for ${watch?.stallMs} ms (${watch?.stallWhy}); it is opened again`;
        error = new RegistryError("ERR_REGISTRY_STALLED", context, detail);
      } else if (deadline.expired) {
        const detail =
          watch === undefined
            ? `no complete answer within ${c.timeoutMs} ms`
            : `the watch was not created within ${c.timeoutMs} ms`;
        error = new RegistryError("ERR_REGISTRY_TIMEOUT", context, detail);
      } else if (caught instanceof BodyProblem) {
        error = new RegistryError("ERR_REGISTRY_TOO_LARGE", context, caught.message);
      } else error = this.#connectError(caught, context);
      if (error.retryable) this.#current = (this.#current + 1) % c.bases.length;
      throw error;
    } finally {
      deadline.cancel();
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** The whole answer as a JSON object. */
  async #object(
    response: Response,
    context: RegistryErrorContext,
  ): Promise<{ body: Record<string, unknown>; context: RegistryErrorContext }> {
    let bytes: Uint8Array;
    try {
      bytes = await readBody(response, this.#config.maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyProblem) throw new RegistryError("ERR_REGISTRY_TOO_LARGE", context, error.message);
      throw error; // a transport error: classified by #exchange
    }
    const body = this.#json(bytes, context);
    if (!isObject(body)) {
      throw new RegistryError("ERR_REGISTRY_BODY", context, `expected a JSON object, got ${describe(body)}`);
    }
    return { body, context };
  }

  /** Reads a streamed answer line by line, each line parsed as JSON, until `onMessage` returns false or it ends. */
  async #lines(
    response: Response,
    context: RegistryErrorContext,
    onMessage: (message: unknown) => boolean,
  ): Promise<void> {
    if (response.body === null) return;
    await readLines(response.body, this.#config.maxBodyBytes, (line) => onMessage(this.#json(line, context)));
  }

  #json(bytes: Uint8Array, context: RegistryErrorContext): unknown {
    try {
      return parseJson(bytes);
    } catch (error) {
      throw new RegistryError("ERR_REGISTRY_BODY", context, this.redact((error as Error).message));
    }
  }

  /** An error for a status other than 2xx, with etcd's `message` when its body has one. */
  async #statusError(response: Response, context: RegistryErrorContext): Promise<RegistryError> {
    const { status } = response;
    const label = `HTTP ${status}${response.statusText === "" ? "" : ` ${response.statusText}`}`;
    if (status >= 300 && status < 400) {
      await response.body?.cancel().catch(() => {});
      return new RegistryError("ERR_REGISTRY_HTTP", context, `${label}: redirect not followed`, { status });
    }
    const snippet = await bodySnippet(response, SNIPPET_BYTES);
    let text = snippet;
    try {
      const parsed: unknown = JSON.parse(snippet);
      if (isObject(parsed) && typeof parsed.message === "string") text = parsed.message;
    } catch {
      // not etcd's JSON error: quoted as it is
    }
    text = this.redact(text);
    if (text.length > 200) text = `${text.slice(0, 200)}…`;
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
