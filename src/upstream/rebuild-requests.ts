import type { Clock, Timer } from "../clock.js";
import type { PriorityPlanner } from "./planner.js";

/**
 * Rebuilds that balancers asked for (`BalancerContext.requestRebuild`):
 * when each is due, by priority level, and one timer on the upstream's
 * clock (unref'd) for the earliest. When it fires, the levels due are
 * marked stale and the planner rebuilds them (`flush()`); a level gone by
 * then is skipped. A request for a level already waiting keeps the earlier
 * time. `close()` cancels the timer: nothing is rebuilt after it. @internal
 */
export class RebuildRequests {
  readonly #clock: Clock;
  readonly #planner: PriorityPlanner;
  readonly #rebuilt: () => void;
  /** Priority → when its rebuild is due. */
  readonly #due = new Map<number, number>();
  #timer: Timer | undefined;
  /** When the timer fires. */
  #timerAt = Number.POSITIVE_INFINITY;
  #closed = false;

  /** `rebuilt` runs after the planner rebuilt pickers (the upstream swaps the new picker in). */
  constructor(clock: Clock, planner: PriorityPlanner, rebuilt: () => void) {
    this.#clock = clock;
    this.#planner = planner;
    this.#rebuilt = rebuilt;
  }

  /** Rebuild requests waiting. */
  get pending(): number {
    return this.#due.size;
  }

  /** The level of `priority` is to be rebuilt in `delayMs` ms. */
  request(priority: number, delayMs: number): void {
    if (this.#closed) return;
    const due = this.#clock.now() + Math.max(0, delayMs);
    const known = this.#due.get(priority);
    if (known === undefined || due < known) this.#due.set(priority, due);
    this.#arm();
  }

  /** Cancels the timer and every request. */
  close(): void {
    this.#closed = true;
    this.#due.clear();
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** Sets the timer for the earliest request, unless it already fires by then. */
  #arm(): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const due of this.#due.values()) earliest = Math.min(earliest, due);
    if (earliest === Number.POSITIVE_INFINITY || (this.#timer !== undefined && this.#timerAt <= earliest)) return;
    this.#timer?.cancel();
    this.#timerAt = earliest;
    this.#timer = this.#clock.setTimer(this.#fire, earliest - this.#clock.now());
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    if (this.#closed) return;
    const now = this.#clock.now();
    const planner = this.#planner;
    let touched = false;
    for (const [priority, due] of this.#due) {
      if (due > now) continue; // a real timer may fire a little early: it is set again below
      this.#due.delete(priority);
      if (planner.touchLevel(priority)) touched = true;
    }
    if (touched && planner.flush()) this.#rebuilt();
    this.#arm();
  };
}
