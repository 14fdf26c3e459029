/**
 * `switchyard/testing`: deterministic time and randomness and a hand-driven
 * resolver, so tests (yours and ours) assert exact pick sequences and drive
 * timers and updates without sleeping.
 * @module
 */
export { ManualClock } from "./manual-clock.js";
export { ManualResolver } from "./manual-resolver.js";
export { SeededRandom, seededRandom } from "./seeded-random.js";
export type { ArrivalSpacing } from "./simulator/arrivals.js";
export type { BackendPhase, SimulatedBackend, SimulatedFailure } from "./simulator/backend.js";
export { outage, slowPhase } from "./simulator/backend.js";
export type { LatencyDistribution } from "./simulator/latency.js";
export { constantLatency, logNormalLatency, normalLatency } from "./simulator/latency.js";
export type { BackendReport, LatencySummary, SeriesBucket, SimulationReport } from "./simulator/report.js";
export type { Scenario, SimulatedUpstreamOptions } from "./simulator/simulate.js";
export { simulate } from "./simulator/simulate.js";
