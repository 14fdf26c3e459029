/** A scheduled callback; `cancel()` is idempotent. */
export interface Timer {
  cancel(): void;
}

/**
 * Time, injected wherever switchyard reads the time or schedules work, so that
 * tests and simulations can drive it (see `ManualClock` in `switchyard/testing`).
 */
export interface Clock {
  /** Monotonic milliseconds; only differences are meaningful. */
  now(): number;
  /**
   * Runs `callback` once after `ms` milliseconds. Real timers are unref'd: a
   * pending switchyard timer never keeps the process alive, unless
   * `options.ref` asks for it (a `ready()` that a caller awaits holds the
   * event loop until it settles). A clock without real timers ignores it.
   */
  setTimer(callback: () => void, ms: number, options?: { ref?: boolean }): Timer;
  /**
   * True when one reading may stand for every attempt begun or ended in the
   * same synchronous run of code (until the microtask queue next drains), as
   * libuv caches its loop time: the upstream then reads `now()` once per
   * such run instead of once per attempt (a `performance.now()` call costs
   * more than a whole pick and allocates its result). No I/O happens within a run, so attempts begun in it leave no
   * earlier than its start. `systemClock` sets it; leave it unset on a clock
   * that moves within a run, like `ManualClock`.
   */
  readonly turnTime?: boolean;
}

/** The longest delay `setTimeout` honours, ms (2^31 - 1). */
export const MAX_DELAY = 2 ** 31 - 1;

/** The real clock: `performance.now()` and unref'd `setTimeout`; read once per turn for attempts. */
export const systemClock: Clock = {
  turnTime: true,
  now: () => performance.now(),
  setTimer(callback, ms, options) {
    // setTimeout fires at once for a delay above 2^31 - 1 ms (~24.8 days):
    // cap it; switchyard's long timers check the time again when they fire.
    const handle = setTimeout(callback, Math.min(MAX_DELAY, Math.max(0, ms)));
    if (options?.ref !== true) handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};

/**
 * Resolves after `ms` on `clock`, or rejects with the signal's reason when
 * `signal` aborts first. Leaves no timer behind either way.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      timer.cancel();
      reject(signal?.reason);
    };
    const timer = clock.setTimer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
