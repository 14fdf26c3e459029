import type { Options as RetryOptions } from "p-retry";
import pRetry from "p-retry";
import type { Clock, Timer } from "../../clock.js";
import { sleep } from "../../clock.js";
import { ClosedError } from "../../errors.js";
import { Resolver } from "../../resolver.js";
import type { DroppedRecord, LookupContext, RefreshAnswer } from "./answer.js";
import type { RefreshSettings } from "./options.js";

/**
 * The refresh loop every polling resolver shares (DNS SRV and A/AAAA, the
 * HTTP registries): look up, publish, schedule the next lookup; retry
 * failures with backoff; keep the last good set on any error; confirm an
 * empty answer before it empties a service.
 *
 * - Refresh: every `intervalMs`, or by TTL clamped to `minTtlMs`..`maxTtlMs`
 *   (TTL mode), or after the delay an answer asks for (`delayMs`: 0 for the
 *   next blocking query of a long-polling registry); every delay jittered
 *   downwards by up to `jitter`, then held to the rate limit: two scheduled
 *   refreshes never start less than `minIntervalMs` apart, whatever a
 *   server answers. The first lookup runs at `start()`.
 * - Retries use p-retry (its attempt counting and `shouldRetry`) with
 *   p-retry's own timer off (`minTimeout: 0`): the exponential backoff delay
 *   (`retryDelayMs` × 2^n, capped at `maxRetryDelayMs`, jittered) is slept on
 *   the injected `Clock` in `onFailedAttempt`, so tests drive retries with a
 *   `ManualClock` and nothing waits on a real timer it cannot cancel. An
 *   error for which `retryAtOnce()` is true is retried without the delay.
 * - After the retries, the error is emitted, the set stays, and the next
 *   refresh runs after the usual delay (TTL mode: the last known TTL).
 * - An empty answer (or an error for which `isEmptyError()` is true) after a
 *   non-empty set is reported and re-checked `confirmEmpty` times,
 *   `confirmEmptyDelayMs` apart, before the empty set is published: a
 *   glitch does not empty a service. A first answer that is empty is an
 *   error (`Upstream.ready()` rejects with it).
 * - Records that cannot be endpoints are dropped and reported once per
 *   change of the dropped list; an answer whose every record is dropped is a
 *   failed refresh.
 * - `close()` cancels the timer, aborts retry sleeps and the lookup's
 *   `signal`, and waits for the loop to stop.
 *
 * Subclasses implement `lookup()` and say how their errors read.
 */
export abstract class RefreshingResolver extends Resolver {
  readonly name: string;
  readonly #settings: RefreshSettings;
  readonly #abort = new AbortController();
  readonly #retry: RetryOptions;
  /** Errors already emitted by `failNow()`, not to be emitted again when the refresh ends with them. */
  readonly #reported = new WeakSet<Error>();
  #timer: Timer | undefined;
  #inFlight: Promise<void> | undefined;
  #emptyStreak = 0;
  #dropped: readonly DroppedRecord[] = [];
  #droppedKey = "";
  #lastTtl: number | undefined;
  #lastStart = Number.NEGATIVE_INFINITY;

  protected constructor(name: string, settings: RefreshSettings) {
    super();
    this.name = name;
    this.#settings = settings;
    this.#retry = {
      retries: settings.retries,
      minTimeout: 0,
      maxTimeout: 0,
      signal: this.#abort.signal,
      unref: true,
      shouldRetry: ({ error }) => this.retryable(error),
      onFailedAttempt: async ({ error, retriesLeft, retriesConsumed }) => {
        if (!this.retryable(error) || retriesLeft <= 0 || this.retryAtOnce(error)) return;
        const s = this.#settings;
        const delay = this.#jittered(Math.min(s.maxRetryDelayMs, s.retryDelayMs * 2 ** retriesConsumed));
        if (delay > 0) await sleep(s.clock, delay, this.#abort.signal);
      },
    };
  }

  /** The clock of every timer: refreshes, retry delays, request timeouts. */
  protected get clock(): Clock {
    return this.#settings.clock;
  }

  /** Aborts when the resolver closes. */
  protected get closeSignal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Records of the last answer that could not become endpoints (port 0, bad target...). */
  get droppedRecords(): readonly DroppedRecord[] {
    return this.#dropped;
  }

  /**
   * Looks up now instead of at the next scheduled time (the schedule restarts
   * from this refresh). Joins a refresh already in flight. Never rejects:
   * failures go to the `error` event, as for scheduled refreshes.
   */
  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.#inFlight ?? this.#run();
  }

  /** Resolves when no refresh is in flight (the next one waits for its timer). */
  whenIdle(): Promise<void> {
    return this.#inFlight ?? Promise.resolve();
  }

  /** One lookup, throwing a typed error on failure. Called by the loop, retried by it. */
  protected abstract lookup(context: LookupContext): Promise<RefreshAnswer>;

  /** True for a failure worth retrying within the refresh (timeouts, server errors, connection errors). */
  protected abstract retryable(error: Error): boolean;

  /** True for a retryable failure to retry without the backoff delay (a stalled request that already waited). */
  protected retryAtOnce(_error: Error): boolean {
    return false;
  }

  /** True for an error that means "no instances" (DNS NXDOMAIN): confirmed like an empty answer. */
  protected isEmptyError(_error: Error): boolean {
    return false;
  }

  /** The error reported for an answer without endpoints and without dropped records. */
  protected abstract emptyAnswerError(): Error;

  /**
   * The error reported for an empty answer that is not yet believed: `error`
   * extended to say that `kept` endpoints stay until `left` more refreshes
   * confirm it.
   */
  protected abstract unconfirmedEmptyError(error: Error, kept: number, left: number): Error;

  /** The error reporting `dropped` records. */
  protected abstract invalidRecordsError(dropped: readonly DroppedRecord[]): Error;

  /**
   * Emits `error` now, in the middle of a refresh (a stalled request, torn
   * down and about to be sent again); if the refresh then ends with this
   * same error, it is not emitted twice.
   */
  protected failNow(error: Error): void {
    this.#reported.add(error);
    this.fail(error);
  }

  protected onStart(): void {
    if (this.#inFlight === undefined) void this.#run();
  }

  protected override async onClose(): Promise<void> {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#abort.abort(new ClosedError(`resolver "${this.name}"`));
    await this.#inFlight;
  }

  #run(): Promise<void> {
    this.#timer?.cancel();
    this.#timer = undefined;
    // A listener that throws is the caller's bug; it must not become an unhandled rejection.
    const run = this.#cycle().catch(() => {});
    this.#inFlight = run;
    return run;
  }

  /** One refresh: lookup with retries, then publish or report, then schedule the next. Never rejects. */
  async #cycle(): Promise<void> {
    const s = this.#settings;
    // The next refresh is scheduled whatever happens below, even if a listener throws.
    let delay = s.intervalMs;
    this.#lastStart = s.clock.now();
    try {
      let answer: RefreshAnswer | undefined;
      let failure: Error | undefined;
      const context: LookupContext = { signal: this.#abort.signal, confirming: this.#emptyStreak > 0 };
      try {
        answer = await pRetry(() => this.lookup(context), this.#retry);
      } catch (caught) {
        failure = caught instanceof Error ? caught : new Error(String(caught));
      }
      if (this.closed) return;
      if (answer !== undefined) delay = this.#onAnswer(answer);
      else if (this.isEmptyError(failure as Error)) delay = this.#onEmpty(failure as Error, undefined);
      else delay = this.#onFailure(failure as Error);
    } finally {
      // Cleared here, not in a later callback: the timer below must see the loop idle.
      this.#inFlight = undefined;
      if (!this.closed) {
        // The rate limit: whatever the answer asked for, no sooner than minIntervalMs after this refresh began.
        delay = Math.max(delay, s.minIntervalMs - (s.clock.now() - this.#lastStart));
        this.#timer = s.clock.setTimer(() => {
          this.#timer = undefined;
          if (this.#inFlight === undefined) void this.#run();
        }, delay);
      }
    }
  }

  #onAnswer(answer: RefreshAnswer): number {
    const changes = answer.changes;
    if ((changes?.size ?? answer.endpoints.length) === 0) {
      if (answer.dropped.length > 0) {
        this.#noteDropped(answer.dropped);
        return this.#onFailure(this.invalidRecordsError(answer.dropped));
      }
      return this.#onEmpty(this.emptyAnswerError(), answer);
    }
    this.#emptyStreak = 0;
    if (answer.ttl !== undefined) this.#lastTtl = answer.ttl;
    // publish() emits `resolved`, which ends an upstream's lastResolverError;
    // the errors of this answer come after it, so they stay visible until the
    // next answer without them. A partial answer is reported on every refresh
    // that has one; dropped records once per change of the list.
    if (changes !== undefined && this.endpoints !== undefined) this.publishChanges(changes.upserts, changes.removals);
    else this.publish(answer.endpoints);
    if (this.#noteDropped(answer.dropped) && answer.dropped.length > 0) {
      this.fail(this.invalidRecordsError(answer.dropped));
    }
    if (answer.partial !== undefined) this.fail(answer.partial);
    return this.#nextDelay(answer);
  }

  /** An empty answer, or an error that means one: applied to a non-empty set only once confirmed. */
  #onEmpty(error: Error, answer: RefreshAnswer | undefined): number {
    const current = this.endpoints;
    if (current === undefined) {
      this.#report(error);
      return this.#nextDelay(answer);
    }
    if (current.length === 0) {
      this.publish([]); // still empty: a success that changes nothing
      return this.#nextDelay(answer);
    }
    this.#emptyStreak++;
    const s = this.#settings;
    if (this.#emptyStreak > s.confirmEmpty) {
      this.#emptyStreak = 0;
      this.#noteDropped([]);
      this.publish([]);
      return this.#nextDelay(answer);
    }
    this.fail(this.unconfirmedEmptyError(error, current.length, s.confirmEmpty - this.#emptyStreak + 1));
    return this.#jittered(s.confirmEmptyDelayMs);
  }

  #onFailure(error: Error): number {
    this.#report(error);
    return this.#nextDelay(undefined);
  }

  #report(error: Error): void {
    if (!this.#reported.has(error)) this.fail(error);
  }

  /** Records the last answer's dropped records; true when they differ from the previous answer's. */
  #noteDropped(dropped: readonly DroppedRecord[]): boolean {
    this.#dropped = dropped;
    const key = dropped.map((d) => `${d.record} ${d.reason}`).join("\n");
    if (key === this.#droppedKey) return false;
    this.#droppedKey = key;
    return true;
  }

  /**
   * The answer's own delay when it gives one; otherwise interval mode:
   * `intervalMs`; TTL mode: this answer's TTL, else the last known one, else
   * `intervalMs`. Jittered.
   */
  #nextDelay(answer: RefreshAnswer | undefined): number {
    const s = this.#settings;
    if (answer?.delayMs !== undefined) return this.#jittered(answer.delayMs);
    const ttl = answer?.ttl ?? this.#lastTtl;
    if (s.mode === "ttl" && ttl !== undefined) {
      return this.#jittered(Math.min(s.maxTtlMs, Math.max(s.minTtlMs, ttl * 1000)));
    }
    return this.#jittered(s.intervalMs);
  }

  #jittered(ms: number): number {
    return Math.round(ms * (1 - this.#settings.jitter * this.#settings.random.next()));
  }
}
