/**
 * `switchyard/testing`: deterministic time and randomness and a hand-driven
 * resolver, so tests (yours and ours) assert exact pick sequences and drive
 * timers and updates without sleeping.
 * @module
 */
export { ManualClock } from "./manual-clock.js";
export { ManualResolver } from "./manual-resolver.js";
export { SeededRandom, seededRandom } from "./seeded-random.js";
