import { InvalidArgumentError, show } from "../errors.js";

/** What a health callback said, and why it was not believed (when it was not). */
export interface StatusReading<S extends string> {
  readonly status: S;
  /** The callback threw, rejected, or returned something other than a status; `status` is then the unhealthy one. */
  readonly error?: Error;
}

/**
 * Asks a registrar's health callback (the `status` option) for the status to
 * send: what it returns (or resolves to) when that is one of `allowed`;
 * `unhealthy` with an error when it throws, rejects or returns anything else
 * (as Eureka's Java client reports DOWN when its health check handler
 * throws); `healthy` when there is no callback. Rejects only with `signal`'s
 * reason, when it aborts while an async callback is pending.
 */
export async function readStatus<S extends string>(
  callback: (() => S | Promise<S>) | undefined,
  allowed: readonly S[],
  healthy: S,
  unhealthy: S,
  signal: AbortSignal,
): Promise<StatusReading<S>> {
  if (callback === undefined) return { status: healthy };
  let value: unknown;
  try {
    value = callback();
    if (value !== null && typeof (value as PromiseLike<S>)?.then === "function") {
      value = await abortable(value as PromiseLike<S>, signal);
    }
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    return { status: unhealthy, error: error instanceof Error ? error : new Error(String(error)) };
  }
  if (allowed.includes(value as S)) return { status: value as S };
  return {
    status: unhealthy,
    error: new InvalidArgumentError(
      "status()",
      `must return one of ${allowed.map((s) => `"${s}"`).join(", ")}, got ${show(value)}; sending "${unhealthy}"`,
    ),
  };
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts. */
function abortable<T>(promise: PromiseLike<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    Promise.resolve(promise).then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
