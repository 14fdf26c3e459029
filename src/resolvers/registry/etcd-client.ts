import type { Clock } from "../../clock.js";
import type { Credentials } from "./credentials.js";
import type { RegistryErrorContext } from "./error.js";
import { RegistryError } from "./error.js";
import type { EtcdWatchMessage } from "./etcd-watch-message.js";
import { parseEtcdWatchMessage } from "./etcd-watch-message.js";
import { RegistryHttp } from "./http.js";
import { describe, isObject } from "./instances.js";

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
/** Shorter secrets are not redacted (as `Credentials`). */
const MIN_SECRET = 4;

/**
 * A client of etcd's v3 JSON gateway, as the etcd resolver and registrar
 * use it: every call a POST of JSON (`/v3/kv/range`, `/v3/lease/grant`...),
 * and the two streams they need: a watch (`/v3/watch`: one JSON message per
 * line, for as long as it lasts) and a lease keepalive (its first message).
 * Over the registry HTTP layer (`RegistryHttp`), whose rules hold: the
 * global `fetch`, a Clock-driven deadline, a cap on every answer and
 * message, redirects refused, credentials in headers only and redacted
 * from every message, and failover: a retryable failure moves to the next
 * member. etcd's own part: its authentication, its error messages, and the
 * watch's deadlines (until it is created, then between messages).
 *
 * etcd authentication (`username`, `password`): the token of
 * `/v3/auth/authenticate` goes in `Authorization`; when etcd answers that
 * it is invalid (expired: simple tokens last 5 minutes unused), a new one
 * is asked and the call sent once more. The password and the tokens are
 * redacted from every message.
 */
export class EtcdClient {
  readonly #http: RegistryHttp;
  readonly #auth: EtcdClientConfig["auth"];
  readonly #timeoutMs: number;
  #token: string | undefined;
  /** The token before the current one: still redacted from messages. */
  #previousToken: string | undefined;
  /** `text` with the credentials and etcd's secrets redacted (the HTTP layer's `redact()`), as one function. */
  readonly #redactAll = (text: string): string => this.#http.redact(text);

  constructor(config: EtcdClientConfig) {
    const { name, auth, ...http } = config;
    this.#auth = auth;
    this.#timeoutMs = config.timeoutMs;
    this.#http = new RegistryHttp({
      ...http,
      registry: "etcd",
      resolver: name,
      stallFactor: 1, // unused: etcd is sent no blocking query
      onStall: () => {}, // a watch that stalls rejects: its caller is told
      redact: (text) => this.#redact(text),
      errorMessage: etcdMessage,
    });
  }

  /** The member asked now, as errors show it. */
  get url(): string {
    return this.#http.base;
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
    return this.#authorized(signal, (headers) => this.#post(path, body, headers, signal));
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
    return this.#authorized(signal, (headers) =>
      this.#http.exchange({ method: "POST", path, json: body, headers }, signal, async ({ context, messages }) => {
        let line: unknown;
        await messages((message) => {
          line = message;
          return false;
        });
        if (line === undefined) throw new RegistryError("ERR_REGISTRY_CONNECT", context, "the stream ended empty");
        if (isObject(line) && line.error !== undefined) {
          const error = line.error;
          const text = isObject(error) && typeof error.message === "string" ? error.message : describe(error);
          throw new RegistryError("ERR_REGISTRY_CONNECT", context, this.#http.redact(`the stream failed: ${text}`));
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
    const { signal, stallMs } = options;
    const timeoutMs = this.#timeoutMs;
    const watch = {
      method: "POST",
      path: "v3/watch",
      json: { create_request: request },
      deadline: {
        ms: timeoutMs,
        code: "ERR_REGISTRY_TIMEOUT",
        detail: `the watch was not created within ${timeoutMs} ms`,
      },
      stall: {
        ms: stallMs,
        code: "ERR_REGISTRY_STALLED",
        detail: `the watch was silent for ${stallMs} ms (${options.stallWhy}); it is opened again`,
      },
    } as const;
    return this.#authorized(signal, (headers) =>
      this.#http.exchange({ ...watch, headers }, signal, async ({ context, messages }) => {
        await messages((line) => {
          const message = parseEtcdWatchMessage(line, context, this.#redactAll);
          if (message.kind === "canceled") {
            throw new RegistryError(
              "ERR_REGISTRY_HTTP",
              context,
              this.#http.redact(`etcd canceled the watch: ${message.reason}`),
              STALE_TOKEN.test(message.reason) ? { status: 401 } : undefined,
            );
          }
          options.onMessage(message);
          return true;
        });
        throw new RegistryError("ERR_REGISTRY_CONNECT", context, "the watch stream ended");
      }),
    );
  }

  /**
   * Runs `send` with the current token's `Authorization` (asking for a token
   * first); once more with a new one when etcd says it is stale.
   */
  async #authorized<T>(
    signal: AbortSignal,
    send: (headers: Record<string, string> | undefined) => Promise<T>,
  ): Promise<T> {
    const auth = this.#auth;
    if (auth === undefined) return send(undefined);
    for (let attempt = 0; ; attempt++) {
      let token = this.#token;
      if (token === undefined) {
        const credentials = { name: auth.username, password: auth.password };
        const { body, context } = await this.#post("v3/auth/authenticate", credentials, undefined, signal);
        token = this.#take(body, context);
      }
      try {
        return await send({ authorization: token });
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

  /** One POST whose answer is a JSON object. */
  async #post(
    path: string,
    json: Readonly<Record<string, unknown>>,
    headers: Record<string, string> | undefined,
    signal: AbortSignal,
  ): Promise<{ body: Record<string, unknown>; context: RegistryErrorContext }> {
    const { body, url } = await this.#http.send({ method: "POST", path, json, headers }, signal);
    const context = this.#http.context(url, "POST");
    if (!isObject(body)) {
      throw new RegistryError("ERR_REGISTRY_BODY", context, `expected a JSON object, got ${describe(body)}`);
    }
    return { body, context };
  }

  /** `text` without etcd's secrets: the password, the token and the one before it. */
  #redact(text: string): string {
    let out = text;
    for (const secret of [this.#auth?.password, this.#token, this.#previousToken]) {
      if (secret !== undefined && secret.length >= MIN_SECRET && out.includes(secret)) {
        out = out.split(secret).join("<redacted>");
      }
    }
    return out;
  }
}

/** etcd's own message in an error answer (`{"error": ..., "message": "etcdserver: ...", "code": 14}`). */
function etcdMessage(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    return isObject(parsed) && typeof parsed.message === "string" ? parsed.message : undefined;
  } catch {
    return undefined; // not etcd's JSON error: quoted as it is
  }
}
