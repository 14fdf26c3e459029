/**
 * Randomness, injected wherever switchyard makes a random choice (random
 * start, random and weighted random pickers, jitter), so that a seeded source
 * gives exact, repeatable pick sequences. See `seededRandom` in
 * `switchyard/testing`.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
}

/** `Math.random`. */
export const systemRandom: Random = { next: Math.random };

/** An integer in [0, n). */
export function randomInt(random: Random, n: number): number {
  return Math.floor(random.next() * n);
}
