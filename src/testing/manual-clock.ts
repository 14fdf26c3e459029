import type { Clock, Timer } from "../clock.js";
import { InvalidArgumentError, show } from "../errors.js";

interface Pending {
  readonly due: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * A `Clock` that moves only when told. Timers fire in order of due time
 * (then of scheduling) as `advance()` passes them, including timers scheduled
 * by callbacks that fall within the advanced span.
 *
 * Code that awaits between timers (a resolver's async refresh) needs
 * `advanceAsync()`, which lets pending promise callbacks run after each timer.
 *
 * @example
 * const clock = new ManualClock();
 * const upstream = createUpstream({ name: "api", resolver, clock });
 * await clock.advanceAsync(30_000); // one DNS refresh interval
 */
export class ManualClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly timers: Pending[] = [];

  /** Starts at `start` milliseconds (default 0). */
  /** @throws InvalidArgumentError unless `start` is a finite number. */
  constructor(start = 0) {
    checkMs("start", start, true);
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  /** Schedules `callback` at now + `ms` (options such as `ref` mean nothing without real timers). */
  setTimer(callback: () => void, ms: number): Timer {
    const entry: Pending = { due: this.time + Math.max(0, ms), seq: this.seq++, callback, cancelled: false };
    this.timers.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  /** Number of timers scheduled and neither fired nor cancelled. */
  get pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, firing due timers synchronously, in order. */
  advance(ms: number): void {
    checkMs("ms", ms);
    const end = this.time + ms;
    for (let t = this.takeNext(end); t !== undefined; t = this.takeNext(end)) {
      this.time = t.due;
      t.callback();
    }
    this.time = end;
  }

  /**
   * Moves time forward to `time` (an absolute clock time, not a step),
   * firing due timers as `advance()` does; `now()` is then exactly `time`
   * (adding a step can round). A simulation steps from event to event this way.
   * @throws InvalidArgumentError unless `time` is a finite number ≥ `now()`.
   */
  advanceTo(time: number): void {
    checkMs("time", time, true);
    if (time < this.time) {
      throw new InvalidArgumentError("time", `must not be before now (${this.time}), got ${show(time)}`);
    }
    for (let t = this.takeNext(time); t !== undefined; t = this.takeNext(time)) {
      this.time = t.due;
      t.callback();
    }
    this.time = time;
  }

  /**
   * Like `advance()`, but after each timer lets queued promise callbacks and
   * I/O callbacks run (a macrotask turn), so async work started by a timer
   * completes before the next timer fires.
   */
  async advanceAsync(ms: number): Promise<void> {
    checkMs("ms", ms);
    const end = this.time + ms;
    await flush();
    for (let t = this.takeNext(end); t !== undefined; t = this.takeNext(end)) {
      this.time = t.due;
      t.callback();
      await flush();
    }
    this.time = end;
  }

  /** Fires the next pending timer, moving time to its due time. Returns false if none. */
  runNext(): boolean {
    const t = this.takeNext(Number.POSITIVE_INFINITY);
    if (t === undefined) return false;
    this.time = t.due;
    t.callback();
    return true;
  }

  private takeNext(until: number): Pending | undefined {
    let best = -1;
    for (let i = 0; i < this.timers.length; i++) {
      const t = this.timers[i] as Pending;
      if (t.cancelled) continue;
      const b = best < 0 ? undefined : this.timers[best];
      if (t.due <= until && (b === undefined || t.due < b.due || (t.due === b.due && t.seq < b.seq))) best = i;
    }
    if (best < 0) {
      // Drop cancelled entries so long-running simulations stay small.
      for (let i = this.timers.length - 1; i >= 0; i--) if (this.timers[i]?.cancelled) this.timers.splice(i, 1);
      return undefined;
    }
    const [t] = this.timers.splice(best, 1);
    return t;
  }
}

/** A time or a step of time: a finite number (≥ 0 for a step). */
function checkMs(argument: string, ms: unknown, negativeOk = false): void {
  if (typeof ms !== "number" || !Number.isFinite(ms) || (!negativeOk && ms < 0)) {
    throw new InvalidArgumentError(
      argument,
      `must be a finite number${negativeOk ? "" : " >= 0"} of ms, got ${show(ms)}`,
    );
  }
}

function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
