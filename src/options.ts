import type { Clock } from "./clock.js";
import { InvalidConfigError, show } from "./errors.js";
import type { Random } from "./random.js";

/**
 * Option checks every factory shares: an options argument that must be an
 * object (so reading an option never throws), and the injected clock and
 * random. Each throws `InvalidConfigError` naming the option.
 * @module
 */

/** Checks that a factory's options are an object or absent, so that reading an option never throws. */
export function checkOptions<T extends object>(options: unknown, factory: string): Partial<T> {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new InvalidConfigError("options", `${factory} options must be an object, got ${show(options)}`);
  }
  return options as Partial<T>;
}

/** Checks an optional `clock` option: an object with `now()` and `setTimer()`. */
export function checkClock(clock: unknown): Clock | undefined {
  if (clock === undefined) return undefined;
  const c = clock as Partial<Clock> | null;
  if (c === null || typeof c !== "object" || typeof c.now !== "function" || typeof c.setTimer !== "function") {
    throw new InvalidConfigError("clock", `must be a Clock (now() and setTimer()), got ${show(clock)}`);
  }
  return c as Clock;
}

/** Checks an optional `random` option: an object with `next()`. */
export function checkRandom(random: unknown): Random | undefined {
  if (random === undefined) return undefined;
  const r = random as Partial<Random> | null;
  if (r === null || typeof r !== "object" || typeof r.next !== "function") {
    throw new InvalidConfigError("random", `must be a Random (next()), got ${show(random)}`);
  }
  return r as Random;
}
