import { EventEmitter } from "eventemitter3";

// biome-ignore lint/suspicious/noExplicitAny: listeners take any arguments
type Listener = (...args: any[]) => void;

/** The guard of each listener function, shared by every emitter it is added to. */
const GUARDS = new WeakMap<Listener, Listener>();

/**
 * A listener's exception, thrown again from a microtask: it reaches
 * `process.on("uncaughtException")` (and ends the process by default), as a
 * throwing listener on Node's own emitters would, but only after the code
 * that emitted the event has finished its work.
 */
function reportListenerError(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

/** The function actually registered for `fn`: calls it, and reports what it throws. */
function guarded(fn: Listener): Listener {
  let guard = GUARDS.get(fn);
  if (guard === undefined) {
    guard = function (this: unknown, ...args: unknown[]) {
      try {
        fn.apply(this, args);
      } catch (error) {
        reportListenerError(error);
      }
    };
    GUARDS.set(fn, guard);
  }
  return guard;
}

/**
 * An eventemitter3 emitter whose listeners cannot break the emitter: a
 * listener's exception never reaches the code that emitted the event, so it
 * never changes switchyard's state or masks the real outcome (a resolved set,
 * a DNS error), and the other listeners still run. The exception surfaces as
 * an uncaught exception instead, from a microtask, as a throwing listener on
 * Node's own emitters would make it.
 *
 * Listeners are added and removed as with eventemitter3 (`on`, `once`, `off`,
 * with an optional context); `listeners()` returns the guards it registered.
 */
export class SafeEmitter<Events extends EventEmitter.ValidEventTypes> extends EventEmitter<Events> {
  override on<T extends EventEmitter.EventNames<Events>>(
    event: T,
    fn: EventEmitter.EventListener<Events, T>,
    context?: unknown,
  ): this {
    return super.on(event, guarded(fn as Listener) as typeof fn, context);
  }

  override addListener<T extends EventEmitter.EventNames<Events>>(
    event: T,
    fn: EventEmitter.EventListener<Events, T>,
    context?: unknown,
  ): this {
    return this.on(event, fn, context);
  }

  override once<T extends EventEmitter.EventNames<Events>>(
    event: T,
    fn: EventEmitter.EventListener<Events, T>,
    context?: unknown,
  ): this {
    return super.once(event, guarded(fn as Listener) as typeof fn, context);
  }

  override off<T extends EventEmitter.EventNames<Events>>(
    event: T,
    fn?: EventEmitter.EventListener<Events, T>,
    context?: unknown,
    once?: boolean,
  ): this {
    return super.off(event, fn === undefined ? fn : ((GUARDS.get(fn as Listener) ?? fn) as typeof fn), context, once);
  }

  override removeListener<T extends EventEmitter.EventNames<Events>>(
    event: T,
    fn?: EventEmitter.EventListener<Events, T>,
    context?: unknown,
    once?: boolean,
  ): this {
    return this.off(event, fn, context, once);
  }
}
