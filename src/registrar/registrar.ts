import type { Clock } from "../clock.js";
import { MAX_DELAY, sleep, systemClock } from "../clock.js";
import { AbortError, ClosedError, InvalidArgumentError, InvalidConfigError, show } from "../errors.js";
import { checkInterval, checkNumber } from "../options.js";
import type { Random } from "../random.js";
import { systemRandom } from "../random.js";
import { SafeEmitter } from "../safe-emitter.js";

/** Where a registrar is in its life (`Registrar.state`). */
export type RegistrarState = "idle" | "registering" | "registered" | "closing" | "closed";

/** Typed events of a `Registrar`. */
export interface RegistrarEvents {
  /** The instance is registered: the first time, and again after a registration was lost. */
  registered: () => void;
  /**
   * The registry no longer has the instance (a heartbeat said so: an etcd
   * lease that expired, a Eureka renewal answered 404, a Consul check gone):
   * the registrar registers it again at once, with backoff on failure.
   */
  lost: () => void;
  /**
   * A registration, heartbeat or deregistration failed. The registrar keeps
   * going (it retries with backoff; a failed deregistration is given up on
   * at `close()`'s deadline). Never thrown out of a timer.
   */
  error: (error: Error) => void;
  /** `close()` removed the instance from the registry (not emitted when deregistration failed). */
  deregistered: () => void;
}

/** Retry timing of registration and heartbeats after a failure. */
export interface RegistrarRetryOptions {
  /** First delay after a failure, ms. Default 1,000. */
  initialMs?: number;
  /** Longest delay, ms. Default 30,000. */
  maxMs?: number;
  /** Growth per failure in a row. Default 2. */
  factor?: number;
  /** Fraction of each delay taken off at random (0..1). Default 0.2. */
  jitter?: number;
}

/** Options every registrar takes. */
export interface RegistrarOptions {
  /** Retry timing after failures. */
  retry?: RegistrarRetryOptions;
  /** Time source: heartbeats and retries run on it. Default the system clock. */
  clock?: Clock;
  /** Randomness for retry jitter. Default `Math.random`. */
  random?: Random;
}

/** What a concrete registrar gives the base class's constructor (for writing a registrar of your own). */
export interface RegistrarInit extends RegistrarOptions {
  /** A short description, used in errors: `"consul:api-1"`. */
  name: string;
  /** Time between heartbeats while registered, ms; `undefined` for a registry that needs none (Kong). */
  heartbeatIntervalMs?: number;
}

/**
 * Self-registration (seeds/001): an instance registers itself in a registry
 * when it starts, keeps the registration alive, and removes it when it
 * stops. The base of every registrar: concrete ones (Consul, Kong, Eureka,
 * etcd) say how to register, heartbeat and deregister; this class runs the
 * life cycle around them:
 *
 * - `start()` registers, retrying with backoff until it succeeds, the signal
 *   aborts, or `close()` is called; it resolves once registered.
 * - While registered, a heartbeat runs every `heartbeatIntervalMs` (for
 *   registries that need one). A heartbeat that fails is retried with
 *   backoff (`error` event); one that finds the registration gone (`lost`
 *   event) registers again at once.
 * - `close()` stops the heartbeats, aborts whatever is in flight, and
 *   deregisters within a deadline; it always resolves, and leaves no timer
 *   or socket.
 *
 * Every wait is on the injected clock, and nothing throws out of a timer:
 * failures are `error` events.
 */
export abstract class Registrar extends SafeEmitter<RegistrarEvents> {
  /** A short description, used in errors. */
  readonly name: string;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #heartbeatMs: number | undefined;
  readonly #retry: Required<RegistrarRetryOptions>;
  #state: RegistrarState = "idle";
  #lastError: Error | undefined;
  // Aborted by close(): stops the loop and whatever request is in flight.
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #firstRegistration: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | undefined;

  protected constructor(init: RegistrarInit) {
    super();
    this.name = init.name;
    this.#clock = init.clock ?? systemClock;
    this.#random = init.random ?? systemRandom;
    this.#heartbeatMs = init.heartbeatIntervalMs;
    this.#retry = retryOptions(init.retry);
  }

  /** Where the registrar is in its life. */
  get state(): RegistrarState {
    return this.#state;
  }

  /** True while the instance is registered (as far as the last registration or heartbeat knows). */
  get registered(): boolean {
    return this.#state === "registered";
  }

  /** The last failure, until the next success. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /**
   * Registers the instance, retrying with backoff, then keeps it registered.
   * Resolves once registered. Rejects with the signal's reason when it
   * aborts first (the registrar goes on trying in the background until
   * `close()`), or `ClosedError` when closed first. Idempotent: a second
   * call waits for the same registration.
   */
  start(options: { signal?: AbortSignal } = {}): Promise<void> {
    const signal = options?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      return Promise.reject(new InvalidArgumentError("options.signal", "must be an AbortSignal"));
    }
    if (this.#state === "closing" || this.#state === "closed") {
      return Promise.reject(new ClosedError(`registrar "${this.name}"`));
    }
    if (this.#firstRegistration === undefined) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      promise.catch(() => {}); // rejected only on close(); each caller sees it through its own race below
      this.#firstRegistration = { promise, resolve, reject };
      this.#loop = this.#run();
    }
    const first = this.#firstRegistration.promise;
    if (signal === undefined) return first;
    if (signal.aborted) return Promise.reject(signal.reason ?? new AbortError());
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason ?? new AbortError());
      signal.addEventListener("abort", onAbort, { once: true });
      first.then(
        () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
        (e) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        },
      );
    });
  }

  /**
   * Stops heartbeats and retries, aborts what is in flight, and removes the
   * instance from the registry if it was registered (or may have been: a
   * registration in flight), giving that up after `timeoutMs` (default
   * 5,000). Always resolves; a failed deregistration is an `error` event.
   * Idempotent. After it resolves the registrar holds no timer or socket.
   */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#state === "closed") return;
    if (this.#state === "closing") return this.#closing;
    const timeoutMs = options?.timeoutMs ?? 5000;
    if (typeof timeoutMs !== "number" || !(timeoutMs >= 0)) {
      throw new InvalidArgumentError("options.timeoutMs", `must be a number of ms >= 0, got ${show(timeoutMs)}`);
    }
    const wasStarted = this.#state !== "idle";
    this.#state = "closing";
    this.#closing = this.#shutDown(wasStarted, timeoutMs);
    return this.#closing;
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Registers the instance once. Throws on failure (the base class retries). */
  protected abstract register(signal: AbortSignal): Promise<void>;

  /**
   * Renews the registration once: resolves `true` when it is still there,
   * `false` when the registry lost it (the base class registers again).
   * Throws on failure (retried). Called every `heartbeatIntervalMs`; a
   * registrar without a heartbeat interval never sees it called.
   */
  protected heartbeat(_signal: AbortSignal): Promise<boolean> {
    return Promise.resolve(true);
  }

  /** Removes the instance from the registry once. Throws on failure. */
  protected abstract deregister(signal: AbortSignal): Promise<void>;

  async #shutDown(wasStarted: boolean, timeoutMs: number): Promise<void> {
    this.#stop.abort(new ClosedError(`registrar "${this.name}"`));
    this.#firstRegistration?.reject(new ClosedError(`registrar "${this.name}"`));
    await this.#loop;
    if (wasStarted) {
      const deadline = new AbortController();
      const timer = this.#clock.setTimer(
        () => deadline.abort(new AbortError(`deregistration took over ${timeoutMs} ms`)),
        timeoutMs,
      );
      try {
        await this.deregister(deadline.signal);
        this.emit("deregistered");
      } catch (error) {
        this.#failed(error);
      } finally {
        timer.cancel();
      }
    }
    this.#state = "closed";
  }

  /** The life cycle: register (with retries), then heartbeat until lost or closed. */
  async #run(): Promise<void> {
    const stop = this.#stop.signal;
    let failures = 0;
    while (!stop.aborted) {
      this.#state = "registering";
      try {
        await this.register(stop);
      } catch (error) {
        if (stop.aborted) return;
        this.#failed(error);
        if (!(await this.#wait(this.#backoff(failures++)))) return;
        continue;
      }
      if (stop.aborted) return;
      failures = 0;
      this.#lastError = undefined;
      this.#state = "registered";
      this.#firstRegistration?.resolve();
      this.emit("registered");
      if (!(await this.#keepAlive())) return;
      this.emit("lost");
    }
  }

  /** Heartbeats while registered; returns false when closed, true when the registration was lost. */
  async #keepAlive(): Promise<boolean> {
    const stop = this.#stop.signal;
    const interval = this.#heartbeatMs;
    if (interval === undefined) {
      await this.#wait(Number.POSITIVE_INFINITY);
      return false;
    }
    let failures = 0;
    let delay = interval;
    while (await this.#wait(delay)) {
      let alive: boolean;
      try {
        alive = await this.heartbeat(stop);
      } catch (error) {
        if (stop.aborted) return false;
        this.#failed(error);
        delay = Math.min(interval, this.#backoff(failures++));
        continue;
      }
      if (stop.aborted) return false;
      if (!alive) return true;
      failures = 0;
      this.#lastError = undefined;
      delay = interval;
    }
    return false;
  }

  /** Waits `ms` on the clock; false when closed first. An infinite wait lasts until close(). */
  async #wait(ms: number): Promise<boolean> {
    const stop = this.#stop.signal;
    if (stop.aborted) return false;
    if (ms === Number.POSITIVE_INFINITY) {
      await new Promise<void>((resolve) => stop.addEventListener("abort", () => resolve(), { once: true }));
      return false;
    }
    try {
      await sleep(this.#clock, ms, stop);
      return true;
    } catch {
      return false;
    }
  }

  #backoff(failures: number): number {
    const r = this.#retry;
    const base = Math.min(r.maxMs, r.initialMs * r.factor ** failures);
    return base * (1 - r.jitter * this.#random.next());
  }

  #failed(error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error));
    this.#lastError = e;
    this.emit("error", e);
  }
}

function retryOptions(retry: RegistrarRetryOptions | undefined): Required<RegistrarRetryOptions> {
  if (retry !== undefined && (typeof retry !== "object" || retry === null || Array.isArray(retry))) {
    throw new InvalidConfigError("retry", `must be an object { initialMs, maxMs, factor, jitter }, got ${show(retry)}`);
  }
  const r = retry ?? {};
  const initialMs = checkInterval(r.initialMs, "retry.initialMs", 1000, MAX_DELAY);
  const maxMs = checkNumber(r.maxMs, "retry.maxMs", Math.max(30_000, initialMs), initialMs, MAX_DELAY);
  return {
    initialMs,
    maxMs,
    factor: checkNumber(r.factor, "retry.factor", 2, 1, Number.MAX_SAFE_INTEGER),
    jitter: checkNumber(r.jitter, "retry.jitter", 0.2, 0, 1),
  };
}
