import type { UpstreamSnapshot } from "../../upstream/snapshot.js";
import type { RequestLog } from "./request-log.js";
import { SUCCESS, TIMEOUT, UNAVAILABLE } from "./request-log.js";

/**
 * Latency percentiles of a set of requests, in ms, by the **nearest-rank**
 * method: of n latencies sorted ascending, the p-th percentile is the one at
 * rank ⌈p/100 × n⌉ (counting from 1), so it is always a latency some
 * request had (p99.9 of 60,000 requests is the 59,940th). Every request that
 * was sent counts, failed or not: a timed-out request at the timeout, a
 * 5xx or a refused connection at its own latency. Requests never sent
 * (`begin()` found no endpoint) have no latency and are left out. With no
 * request every field is 0 (see `count`).
 */
export interface LatencySummary {
  /** Requests counted. */
  readonly count: number;
  /** Arithmetic mean. */
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
  /** p99.9 */
  readonly p999: number;
  readonly max: number;
}

/** One backend's part of a run. */
export interface BackendReport {
  /** The endpoint id. */
  readonly id: string;
  /** Requests the upstream sent it. */
  readonly requests: number;
  /** Of those, answered with a success (no failure kind, status < 500, as `isFailure` reads it). */
  readonly successes: number;
  /** The rest: 5xx, refused or reset connections, timeouts. */
  readonly failures: number;
  /** Of the failures, those the client's timeout ended. */
  readonly timeouts: number;
  /** Latency of its requests. */
  readonly latency: LatencySummary;
  /** Requests it got in each bucket of the run (`SimulationReport.series`), by arrival time. */
  readonly series: readonly number[];
}

/** One bucket of a run's time series: the requests that arrived in [startMs, startMs + bucketMs). */
export interface SeriesBucket {
  readonly startMs: number;
  readonly requests: number;
  readonly successes: number;
  /** Median latency of the bucket's requests (nearest rank, as `LatencySummary`); 0 with none. */
  readonly p50: number;
  /** p99 of the bucket's requests; 0 with none. */
  readonly p99: number;
}

/**
 * What `simulate()` reports: plain data (numbers, strings, arrays and the
 * upstream's snapshot), so it can be compared with `toEqual`, written as
 * JSON or charted. Equal for equal scenarios and seeds.
 */
export interface SimulationReport {
  readonly seed: number;
  /** How long requests arrived, ms. */
  readonly durationMs: number;
  /** Width of each `series` bucket, ms. */
  readonly bucketMs: number;
  /** When the last request ended, ms: at least the last arrival, at most it plus the timeout. */
  readonly endedAtMs: number;
  /** Requests that arrived. */
  readonly requests: number;
  /** Requests answered with a success. */
  readonly successes: number;
  /** Requests that were not: 5xx, connection failures, timeouts and requests never sent. */
  readonly failures: number;
  /** Of the failures, those the client's timeout ended. */
  readonly timeouts: number;
  /** Of the failures, those never sent: `begin()` threw (`NoEndpointsError`: nothing eligible; `CircuitOpenError`, `ConcurrencyLimitError`: refused admission). */
  readonly unavailable: number;
  /** successes / requests (1 when no request arrived). */
  readonly successRate: number;
  /** Latency of every request sent (see `LatencySummary`). */
  readonly latency: LatencySummary;
  /** One entry per backend, in the scenario's order. */
  readonly backends: readonly BackendReport[];
  /** The run bucket by bucket, by arrival time: ⌈durationMs / bucketMs⌉ buckets. */
  readonly series: readonly SeriesBucket[];
  /** `upstream.snapshot()` when the last request ended: counters, ejections, plug-in states. */
  readonly upstream: UpstreamSnapshot;
}

/** The parts of a report the run knows, beside its request log. @internal */
export interface RunFacts {
  readonly seed: number;
  readonly durationMs: number;
  readonly bucketMs: number;
  readonly endedAtMs: number;
  readonly backendIds: readonly string[];
  readonly upstream: UpstreamSnapshot;
}

/** Builds the report of a finished run from its request log. @internal */
export function buildReport(log: RequestLog, facts: RunFacts): SimulationReport {
  const n = log.size;
  const buckets = Math.max(1, Math.ceil(facts.durationMs / facts.bucketMs));
  const series: SeriesBucket[] = [];
  // Requests are logged in arrival order: each bucket is one run of ids.
  let from = 0;
  for (let k = 0; k < buckets; k++) {
    const startMs = k * facts.bucketMs;
    const end = k === buckets - 1 ? Number.POSITIVE_INFINITY : startMs + facts.bucketMs;
    let to = from;
    let ok = 0;
    while (to < n && (log.start[to] as number) < end) {
      if (log.ending[to] === SUCCESS) ok++;
      to++;
    }
    const summary = summarize(latenciesOf(log, from, to));
    series.push({ startMs, requests: to - from, successes: ok, p50: summary.p50, p99: summary.p99 });
    from = to;
  }
  let successes = 0;
  let timeouts = 0;
  let unavailable = 0;
  for (let r = 0; r < n; r++) {
    const ending = log.ending[r];
    if (ending === SUCCESS) successes++;
    else if (ending === TIMEOUT) timeouts++;
    else if (ending === UNAVAILABLE) unavailable++;
  }
  return {
    seed: facts.seed,
    durationMs: facts.durationMs,
    bucketMs: facts.bucketMs,
    endedAtMs: facts.endedAtMs,
    requests: n,
    successes,
    failures: n - successes,
    timeouts,
    unavailable,
    successRate: n === 0 ? 1 : successes / n,
    latency: summarize(latenciesOf(log, 0, n)),
    backends: backendReports(log, facts.backendIds, buckets, facts.bucketMs),
    series,
    upstream: facts.upstream,
  };
}

/** Each backend's report, in one pass over the log plus a counting sort of latencies by backend. */
function backendReports(log: RequestLog, ids: readonly string[], buckets: number, bucketMs: number): BackendReport[] {
  const count = ids.length;
  const requests = new Int32Array(count);
  const successes = new Int32Array(count);
  const timeouts = new Int32Array(count);
  const series = ids.map(() => new Array<number>(buckets).fill(0));
  for (let r = 0; r < log.size; r++) {
    const b = log.backend[r] as number;
    if (b < 0) continue;
    requests[b] = (requests[b] as number) + 1;
    const ending = log.ending[r];
    if (ending === SUCCESS) successes[b] = (successes[b] as number) + 1;
    else if (ending === TIMEOUT) timeouts[b] = (timeouts[b] as number) + 1;
    const k = Math.min(buckets - 1, Math.floor((log.start[r] as number) / bucketMs));
    const s = series[b] as number[];
    s[k] = (s[k] as number) + 1;
  }
  // Backend b's latencies go to [offset[b], offset[b + 1]) of one array.
  const offset = new Int32Array(count + 1);
  for (let b = 0; b < count; b++) offset[b + 1] = (offset[b] as number) + (requests[b] as number);
  const latencies = new Float64Array(offset[count] as number);
  const next = offset.slice(0, count);
  for (let r = 0; r < log.size; r++) {
    const b = log.backend[r] as number;
    if (b < 0) continue;
    const at = next[b] as number;
    latencies[at] = log.latency[r] as number;
    next[b] = at + 1;
  }
  return ids.map((id, b) => ({
    id,
    requests: requests[b] as number,
    successes: successes[b] as number,
    failures: (requests[b] as number) - (successes[b] as number),
    timeouts: timeouts[b] as number,
    latency: summarize(latencies.subarray(offset[b], offset[b + 1])),
    series: series[b] as number[],
  }));
}

/** Latencies of requests [from, to), requests never sent left out. */
function latenciesOf(log: RequestLog, from: number, to: number): Float64Array {
  let count = 0;
  for (let r = from; r < to; r++) if (log.ending[r] !== UNAVAILABLE) count++;
  const out = new Float64Array(count);
  let i = 0;
  for (let r = from; r < to; r++) if (log.ending[r] !== UNAVAILABLE) out[i++] = log.latency[r] as number;
  return out;
}

/** Sorts `latencies` in place and summarizes them (nearest rank). */
export function summarize(latencies: Float64Array): LatencySummary {
  const n = latencies.length;
  if (n === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 };
  latencies.sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += latencies[i] as number;
  return {
    count: n,
    mean: sum / n,
    p50: rank(latencies, 500),
    p90: rank(latencies, 900),
    p95: rank(latencies, 950),
    p99: rank(latencies, 990),
    p999: rank(latencies, 999),
    max: latencies[n - 1] as number,
  };
}

/** The nearest-rank percentile of sorted values, p in thousandths: rank ⌈p × n / 1000⌉ in integers (no rounding error). */
function rank(sorted: Float64Array, perMille: number): number {
  const n = sorted.length;
  const r = Math.ceil((perMille * n) / 1000);
  return sorted[Math.max(1, r) - 1] as number;
}
