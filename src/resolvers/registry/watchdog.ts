import type { Clock, Timer } from "../../clock.js";

/**
 * Fires once when nothing has happened for `ms` on `clock`: a request's
 * deadline, or a watch's stall detector. `feed()` is a sign of life (a
 * response, a chunk of a watch stream, a bookmark) and re-arms it;
 * `cancel()` disarms it for good. A blocking query or watch that goes silent
 * (a half-open connection, an agent that hangs: node-consul #51,
 * @kubernetes/client-node #596) is thus torn down rather than trusted
 * forever.
 */
export class Watchdog {
  readonly #clock: Clock;
  readonly #ms: number;
  readonly #onExpire: () => void;
  #timer: Timer | undefined;
  #fired = false;
  #cancelled = false;

  /** Arms at once. */
  constructor(clock: Clock, ms: number, onExpire: () => void) {
    this.#clock = clock;
    this.#ms = ms;
    this.#onExpire = onExpire;
    this.#arm();
  }

  /** True once it fired. */
  get expired(): boolean {
    return this.#fired;
  }

  /** A sign of life: the silence starts over. Ignored once fired or cancelled. */
  feed(): void {
    if (this.#fired || this.#cancelled) return;
    this.#timer?.cancel();
    this.#arm();
  }

  /** Disarms it; it never fires after this. Idempotent. */
  cancel(): void {
    this.#cancelled = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #arm(): void {
    this.#timer = this.#clock.setTimer(() => {
      this.#fired = true;
      this.#timer = undefined;
      this.#onExpire();
    }, this.#ms);
  }
}
