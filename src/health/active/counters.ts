/**
 * Kong's health counters (lua-resty-healthcheck's `incr_counter`), per slot,
 * in typed arrays. Four counters of 0..255 (Kong packs them in one 32-bit
 * word): successes, HTTP failures, TCP failures, timeouts. Four internal
 * states: healthy, mostly healthy, mostly unhealthy, unhealthy; the first two
 * are reported healthy.
 *
 * A result of kind k with threshold t:
 * - t = 0: the counter is off; the result changes nothing at all.
 * - A success while fully healthy, or a failure while fully unhealthy,
 *   changes nothing (nothing left to count toward).
 * - Otherwise counter k goes up by one (saturating at 255); a success clears
 *   the three failure counters, any failure clears the success counter.
 * - Counter k reaching t sets the state it counts toward (healthy or
 *   unhealthy). Short of it, a failure moves a healthy endpoint to mostly
 *   healthy and a success moves an unhealthy one to mostly unhealthy.
 * @internal
 * @module
 */

/** Counter kinds, in the order of `ActiveConfig.thresholds`. */
export const SUCCESS = 0;
export const HTTP_FAILURE = 1;
export const TCP_FAILURE = 2;
export const TIMEOUT = 3;

/** Internal states; `state < MOSTLY_UNHEALTHY` is healthy. */
export const HEALTHY = 0;
export const MOSTLY_HEALTHY = 1;
export const MOSTLY_UNHEALTHY = 2;
export const UNHEALTHY = 3;

/** Kong's counters and state of every slot. */
export class HealthCounters {
  /** Internal state by slot. */
  state = new Uint8Array(0);
  /** Four counters by slot: `counts[slot * 4 + kind]`. */
  counts = new Uint8Array(0);
  readonly #thresholds: Uint8Array;

  /** `thresholds[kind]`: 0 = off. */
  constructor(thresholds: Uint8Array) {
    this.#thresholds = thresholds;
  }

  /** Makes room for slots below `capacity`. */
  ensure(capacity: number): void {
    if (capacity <= this.state.length) return;
    const state = new Uint8Array(capacity);
    state.set(this.state);
    const counts = new Uint8Array(capacity * 4);
    counts.set(this.counts);
    this.state = state;
    this.counts = counts;
  }

  /** A slot starts healthy with every counter at 0 (Kong's `add_target`). */
  reset(slot: number): void {
    this.state[slot] = HEALTHY;
    this.counts.fill(0, slot * 4, slot * 4 + 4);
  }

  /** Whether the slot is reported healthy (healthy or mostly healthy). */
  healthy(slot: number): boolean {
    return (this.state[slot] as number) < MOSTLY_UNHEALTHY;
  }

  /** The count of `kind` for the slot. */
  count(slot: number, kind: number): number {
    return this.counts[slot * 4 + kind] as number;
  }

  /** Counts one result of `kind`; returns true when the reported health flipped. */
  record(slot: number, kind: number): boolean {
    const limit = this.#thresholds[kind] as number;
    if (limit === 0) return false;
    const state = this.state[slot] as number;
    const success = kind === SUCCESS;
    if (success ? state === HEALTHY : state === UNHEALTHY) return false;
    const counts = this.counts;
    const base = slot * 4;
    const count = Math.min(255, (counts[base + kind] as number) + 1);
    counts[base + kind] = count;
    if (success) counts.fill(0, base + HTTP_FAILURE, base + 4);
    else counts[base + SUCCESS] = 0;
    let next = state;
    if (count >= limit) next = success ? HEALTHY : UNHEALTHY;
    else if (state === HEALTHY)
      next = MOSTLY_HEALTHY; // a failure short of its threshold
    else if (state === UNHEALTHY) next = MOSTLY_UNHEALTHY; // a success short of its threshold
    this.state[slot] = next;
    return next < MOSTLY_UNHEALTHY !== state < MOSTLY_UNHEALTHY;
  }
}
