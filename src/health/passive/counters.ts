import type { Outcome } from "../../outcome.js";
import { grown } from "../../upstream/table.js";
import { hasStatus } from "../http-statuses.js";
import type { PassiveConfig } from "./options.js";

/**
 * Kong's passive health counters, per endpoint, in typed arrays indexed by
 * slot: what an outcome is to the checks (`reading`), and what it does to an
 * endpoint's counters and state (`record`). Pure: no clock, no timer; the
 * plug-in times ejections.
 * @module
 */

/** Kong's counters are 8 bits wide: thresholds and counts are 0..255. @internal */
export const MAX_COUNT = 255;

/** Takes traffic; counts failures. @internal */
export const HEALTHY = 0;
/** Ejected; its outcomes count for nothing until the ejection time is up. @internal */
export const UNHEALTHY = 1;
/** Back in traffic after an ejection: the first failure ejects it again, enough successes make it healthy. @internal */
export const PROBATION = 2;

/** An outcome that says nothing to the checks (cancelled, abandoned, a status in neither list). @internal */
export const NOTHING = 0;
/** A status in `healthy.httpStatuses`, or an answer without a status. @internal */
export const SUCCESS = 1;
/** A status in `unhealthy.httpStatuses`. @internal */
export const HTTP_FAILURE = 2;
/** A connection refused (`connect`) or broken (`reset`). @internal */
export const TCP_FAILURE = 3;
/** No answer in time (`timeout`). @internal */
export const TIMEOUT = 4;

/**
 * What an outcome is to the passive checks, as Kong's balancer reports it:
 * `connect` and `reset` are TCP failures, `timeout` a timeout, a status in
 * `healthy.httpStatuses` a success (that list is read first, as Kong does),
 * one in `unhealthy.httpStatuses` an HTTP failure, any other status nothing;
 * `cancelled` and `abandoned` are nothing; an outcome with neither status nor
 * failure (a call that answered without HTTP) is a success.
 * @internal
 */
export function reading(outcome: Outcome, config: PassiveConfig): number {
  const failure = outcome.failure;
  if (failure !== undefined) {
    if (failure === "connect" || failure === "reset") return TCP_FAILURE;
    return failure === "timeout" ? TIMEOUT : NOTHING;
  }
  const status = outcome.status;
  if (status === undefined || hasStatus(config.healthyStatuses, status)) return SUCCESS;
  return hasStatus(config.unhealthyStatuses, status) ? HTTP_FAILURE : NOTHING;
}

/**
 * Each endpoint's state and Kong's four counters (8 bits each, as Kong
 * packs them, saturating at 255). Columns grow with the upstream's table and
 * are reset for a newcomer. @internal
 */
export class PassiveCounters {
  state = new Uint8Array(0);
  successes = new Uint8Array(0);
  httpFailures = new Uint8Array(0);
  tcpFailures = new Uint8Array(0);
  timeouts = new Uint8Array(0);

  /** Makes room for slots up to `capacity - 1`, keeping what is there. */
  grow(capacity: number): void {
    if (capacity <= this.state.length) return;
    this.state = grown(this.state, capacity);
    this.successes = grown(this.successes, capacity);
    this.httpFailures = grown(this.httpFailures, capacity);
    this.tcpFailures = grown(this.tcpFailures, capacity);
    this.timeouts = grown(this.timeouts, capacity);
  }

  /** Puts `slot` in `state` with every counter at 0. */
  reset(slot: number, state: number): void {
    this.state[slot] = state;
    this.successes[slot] = 0;
    this.httpFailures[slot] = 0;
    this.tcpFailures[slot] = 0;
    this.timeouts[slot] = 0;
  }

  /**
   * Applies one outcome to `slot` with Kong's rules (`reading` says what it
   * is), and returns true when the endpoint's state changed: ejected
   * (`UNHEALTHY`), or made healthy from probation. O(1), no allocation.
   *
   * - an ejected endpoint counts nothing;
   * - a failure whose threshold is 0 is off: it counts nothing and clears
   *   nothing (Kong fails fast on a disabled counter);
   * - any other failure clears the success counter and adds one to its own;
   *   reaching its threshold ejects, and on probation the first one does;
   * - a success clears the three failure counters (also when
   *   `healthy.successes` is 0, where Kong skips it: see docs/health.md) and
   *   adds one to the success counter unless that is 0; on probation
   *   `healthy.successes` of them (one when 0) make the endpoint healthy;
   * - a flip (ejected, restored) starts every counter again from 0.
   */
  record(slot: number, outcome: Outcome, config: PassiveConfig): boolean {
    const state = this.state[slot] as number;
    if (state === UNHEALTHY) return false;
    const what = reading(outcome, config);
    if (what === NOTHING) return false;
    if (what === SUCCESS) {
      this.httpFailures[slot] = 0;
      this.tcpFailures[slot] = 0;
      this.timeouts[slot] = 0;
      const limit = config.successes;
      if (state === PROBATION) {
        const n = (this.successes[slot] as number) + 1;
        if (n >= (limit === 0 ? 1 : limit)) {
          this.reset(slot, HEALTHY);
          return true;
        }
        this.successes[slot] = n;
      } else if (limit > 0) {
        this.successes[slot] = Math.min(MAX_COUNT, (this.successes[slot] as number) + 1);
      }
      return false;
    }
    let column: Uint8Array;
    let limit: number;
    if (what === TCP_FAILURE) {
      column = this.tcpFailures;
      limit = config.tcpFailures;
    } else if (what === TIMEOUT) {
      column = this.timeouts;
      limit = config.timeouts;
    } else {
      column = this.httpFailures;
      limit = config.httpFailures;
    }
    if (limit === 0) return false;
    this.successes[slot] = 0;
    const n = Math.min(MAX_COUNT, (column[slot] as number) + 1);
    column[slot] = n;
    if (state === PROBATION || n >= limit) {
      this.reset(slot, UNHEALTHY);
      return true;
    }
    return false;
  }
}
