import type { Clock } from "../../clock.js";
import { Watchdog } from "./watchdog.js";

/** How long a request may go without a sign of life, and what missing it is. */
export interface RegistryDeadline {
  readonly ms: number;
  /** `ERR_REGISTRY_TIMEOUT` (no answer in time) or `ERR_REGISTRY_STALLED` (a stream gone silent: it is opened again). */
  readonly code: "ERR_REGISTRY_TIMEOUT" | "ERR_REGISTRY_STALLED";
  /** What the error says after the URL: `"the watch was not created within 5000 ms"`. */
  readonly detail: string;
}

/**
 * One request's life: its own AbortController, aborted with the caller's
 * signal, and its deadline: `first` until the first sign of life
 * (`live()`), then `then`, restarted by each sign of life; without `then`,
 * `first` runs until the request ends. Missing the deadline aborts the
 * request; `missed` then says which it was.
 */
export class RequestLife {
  readonly #controller = new AbortController();
  readonly #caller: AbortSignal;
  readonly #clock: Clock;
  readonly #then: RegistryDeadline | undefined;
  #deadline: RegistryDeadline;
  #watchdog: Watchdog;
  #ended = false;

  constructor(clock: Clock, caller: AbortSignal, first: RegistryDeadline, then?: RegistryDeadline) {
    this.#clock = clock;
    this.#caller = caller;
    this.#then = then;
    this.#deadline = first;
    this.#watchdog = this.#arm(first);
    caller.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** The request's signal, for `fetch`. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** True once `end()` or `abort()` was called (or the caller's signal aborted). */
  get ended(): boolean {
    return this.#ended;
  }

  /** The deadline missed, if it was. */
  get missed(): RegistryDeadline | undefined {
    return this.#watchdog.expired ? this.#deadline : undefined;
  }

  /** A sign of life: the first one moves to `then`, the next ones restart it. */
  live(): void {
    const then = this.#then;
    if (then === undefined || this.#ended || this.#watchdog.expired) return;
    if (this.#deadline === then) this.#watchdog.feed();
    else {
      this.#watchdog.cancel();
      this.#deadline = then;
      this.#watchdog = this.#arm(then);
    }
  }

  /** Disarms the deadline and stops following the caller's signal. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#watchdog.cancel();
    this.#caller.removeEventListener("abort", this.#onAbort);
  }

  /** Ends it and aborts the request: its connection is closed. */
  abort(reason?: unknown): void {
    this.end();
    this.#controller.abort(reason);
  }

  #arm(deadline: RegistryDeadline): Watchdog {
    return new Watchdog(this.#clock, deadline.ms, () => this.#controller.abort(new Error(deadline.code)));
  }

  readonly #onAbort = (): void => this.abort(this.#caller.reason);
}
