/** Levels (priorities) whose last value a `LevelCache` keeps. */
const KEPT_LEVELS = 8;

/**
 * What a balancer last built for each priority level (a hashing ring, a
 * Maglev table), so that the next build of the same level can start from
 * it. Keeps at most 8 levels; storing a ninth forgets the level stored
 * longest ago. @internal
 */
export class LevelCache<T> {
  readonly #byLevel = new Map<number, T>();

  get(level: number): T | undefined {
    return this.#byLevel.get(level);
  }

  set(level: number, value: T): void {
    this.#byLevel.delete(level);
    if (this.#byLevel.size >= KEPT_LEVELS) this.#byLevel.delete(this.#byLevel.keys().next().value as number);
    this.#byLevel.set(level, value);
  }
}
