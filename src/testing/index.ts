/**
 * `switchyard/testing`: deterministic time and randomness, so tests (yours
 * and ours) assert exact pick sequences and drive timers without sleeping.
 * @module
 */
export { ManualClock } from "./manual-clock.js";
export { SeededRandom, seededRandom } from "./seeded-random.js";
