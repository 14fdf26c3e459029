import { InvalidArgumentError, InvalidConfigError, show } from "../errors.js";
import type { BreakerStrategy } from "./strategy.js";
import { isStrategy, stateField, underPath } from "./strategy.js";

/**
 * Opens when any of `strategies` says so (Resilience4j's breaker, which
 * watches the failure rate and the slow-call rate at once). Every strategy
 * sees every call; it is timed when any of them is.
 *
 * @example
 * const strategy = anyStrategy(consecutiveFailures(5), slowCallRate({ slowMs: 2000 }));
 * @throws InvalidConfigError (`option: "strategies"`) unless given one or more strategies.
 */
export function anyStrategy(...strategies: BreakerStrategy[]): BreakerStrategy {
  if (strategies.length === 0) throw new InvalidConfigError("strategies", "anyStrategy() needs at least one strategy");
  strategies.forEach((s, i) => {
    if (!isStrategy(s)) {
      throw new InvalidConfigError(
        `strategies[${i}]`,
        `must be a BreakerStrategy ({ name, success, failure, reset }), got ${show(s)}`,
      );
    }
  });
  return new AnyStrategy([...strategies]);
}

class AnyStrategy implements BreakerStrategy {
  readonly name = "any";
  readonly timed: boolean;
  readonly #strategies: readonly BreakerStrategy[];

  constructor(strategies: readonly BreakerStrategy[]) {
    this.#strategies = strategies;
    this.timed = strategies.some((s) => s.timed === true);
  }

  success(latencyMs: number, now: number): boolean {
    let open = false;
    for (const s of this.#strategies) open = s.success(latencyMs, now) || open;
    return open;
  }

  failure(latencyMs: number, now: number): boolean {
    let open = false;
    for (const s of this.#strategies) open = s.failure(latencyMs, now) || open;
    return open;
  }

  reset(): void {
    for (const s of this.#strategies) s.reset();
  }

  /** `strategies`: each one's `{ name, state }`, in order. */
  snapshot(now: number): { strategies: { name: string; state: unknown }[] } {
    return { strategies: this.#strategies.map((s) => ({ name: s.name, state: s.snapshot?.(now) })) };
  }

  /**
   * Restores each strategy from the entry at its index when the names match;
   * the others start empty. All or nothing: when an entry is unreadable,
   * every strategy is put back as it was.
   */
  restore(state: unknown, now: number): void {
    const list = stateField(state, "strategies");
    if (!Array.isArray(list)) throw new InvalidArgumentError("state.strategies", `must be an array, got ${show(list)}`);
    const strategies = this.#strategies;
    const before = strategies.map((s) => s.snapshot?.(now));
    try {
      strategies.forEach((s, i) => {
        const entry: unknown = list[i];
        const path = `state.strategies[${i}]`;
        if (entry === undefined) {
          s.reset();
          return;
        }
        if (typeof entry !== "object" || entry === null) {
          throw new InvalidArgumentError(path, `must be an object { name, state }, got ${show(entry)}`);
        }
        const { name, state: data } = entry as { name?: unknown; state?: unknown };
        if (typeof name !== "string") {
          throw new InvalidArgumentError(`${path}.name`, `must be a string, got ${show(name)}`);
        }
        if (name === s.name && s.restore !== undefined) underPath(path, () => s.restore?.(data, now));
        else s.reset();
      });
    } catch (e) {
      strategies.forEach((s, i) => {
        s.reset();
        if (before[i] !== undefined) s.restore?.(before[i], now);
      });
      throw e;
    }
  }
}
