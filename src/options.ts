import type { Clock } from "./clock.js";
import { MAX_DELAY } from "./clock.js";
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

/**
 * Checks options as `checkOptions` does, and that every key is one of
 * `known`: a field name of the system a factory mirrors (Kong's
 * `http_failures`, Envoy's `base_ejection_time`) would otherwise be ignored
 * without a word. The error names the key and, when its camelCase form (or
 * that + `Ms`) is an option, the one likely meant. For a nested section,
 * `path` is its option name (`"unhealthy"`), prefixed to its keys.
 */
export function checkKnownOptions<T extends object>(
  options: unknown,
  factory: string,
  known: readonly string[],
  path = "",
): Partial<T> {
  if (
    path !== "" &&
    options !== undefined &&
    (typeof options !== "object" || options === null || Array.isArray(options))
  ) {
    throw new InvalidConfigError(path, `must be an options object, got ${show(options)}`);
  }
  const o = checkOptions<T>(options, factory);
  for (const key of Object.keys(o)) {
    if (known.includes(key)) continue;
    const camel = key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    const hint = [camel, `${camel}Ms`].find((k) => k !== key && known.includes(k));
    const prefix = path === "" ? "" : `${path}.`;
    const meant =
      hint === undefined ? "" : `: did you mean ${prefix}${hint}${hint.endsWith("Ms") ? " (milliseconds)" : ""}?`;
    throw new InvalidConfigError(`${prefix}${key}`, `is not an option of ${factory}${meant}`);
  }
  return o;
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

/** Checks an optional number option: finite and within `min..max`. */
export function checkNumber(value: unknown, option: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`;
    throw new InvalidConfigError(option, `must be a number ${range}, got ${show(value)}`);
  }
  return value;
}

/** Checks an integer option within `min..max`: optional with a `fallback`, required without one. */
export function checkInteger(
  value: unknown,
  option: string,
  fallback: number | undefined,
  min: number,
  max: number,
): number {
  if (value === undefined && fallback === undefined) {
    throw new InvalidConfigError(option, `is required: an integer in ${min}..${max}`);
  }
  const n = checkNumber(value, option, fallback as number, min, max);
  if (!Number.isInteger(n)) throw new InvalidConfigError(option, `must be an integer, got ${n}`);
  return n;
}

/** Checks an optional positive interval option (ms), rejecting 0, negatives and values above `max`. */
export function checkInterval(value: unknown, option: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? "> 0" : `> 0 and <= ${max}`;
    throw new InvalidConfigError(option, `must be a number of milliseconds ${range}, got ${show(value)}`);
  }
  return value;
}

/** Checks an optional boolean option. */
export function checkBoolean(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new InvalidConfigError(option, `must be true or false, got ${show(value)}`);
  return value;
}

/** Checks an optional name option (used in errors and snapshots): a non-empty string. */
export function checkName(value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || value.trim() === "") {
    throw new InvalidConfigError("name", `must be a non-empty string, got ${show(value)}`);
  }
  return value;
}

/**
 * A delay in ms: a number ≥ 0 (> 0 when `infinite`, where `Infinity`
 * disables) and at most 2^31 - 1 (what a timer can wait). Throws
 * `InvalidConfigError` naming `option`.
 */
export function duration(option: string, ms: unknown, { infinite = false } = {}): number {
  if (infinite && ms === Number.POSITIVE_INFINITY) return ms;
  const ok = typeof ms === "number" && (infinite ? ms > 0 : ms >= 0) && ms <= MAX_DELAY;
  if (!ok) {
    const range = infinite ? `> 0 and <= ${MAX_DELAY}, or Infinity` : `>= 0 and <= ${MAX_DELAY}`;
    throw new InvalidConfigError(option, `must be a number of ms ${range}, got ${show(ms)}`);
  }
  return ms;
}

/** An optional delay option in ms, 0..2^31 - 1 (what a timer can wait): `fallback` when absent, else as `duration()`. */
export function checkDelay(value: unknown, option: string, fallback: number): number {
  return value === undefined ? fallback : duration(option, value);
}
