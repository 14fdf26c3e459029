/** How a simulated request ended, in `RequestLog.ending`: answered with a success (status < 500). @internal */
export const SUCCESS = 0;
/** Answered with a 5xx status. @internal */
export const FAILED_STATUS = 1;
/** Connection refused. @internal */
export const CONNECT = 2;
/** Connection reset. @internal */
export const RESET = 3;
/** The client's timeout ended it. @internal */
export const TIMEOUT = 4;
/** `begin()` found no endpoint: never sent. @internal */
export const UNAVAILABLE = 5;

/**
 * One row per simulated request, in arrival order, in growable typed
 * columns: the run writes them, the report reads them. @internal
 */
export class RequestLog {
  /** Requests logged. */
  size = 0;
  /** When it arrived, ms. */
  start = new Float64Array(1024);
  /** What the client saw: latency ms (the timeout for a timed-out request); NaN when never sent. */
  latency = new Float64Array(1024);
  /** Index of the backend that served it; -1 when never sent. */
  backend = new Int32Array(1024);
  /** How it ended: `SUCCESS`, `FAILED_STATUS`, `CONNECT`, `RESET`, `TIMEOUT` or `UNAVAILABLE`. */
  ending = new Uint8Array(1024);
  /** HTTP status of an answer (0 without one). */
  status = new Uint16Array(1024);
  /** The upstream's attempt token while the request is in flight. */
  token = new Int32Array(1024);

  /** Adds a row for a request arriving at `time`; returns its index. */
  add(time: number): number {
    if (this.size === this.start.length) this.#grow();
    const id = this.size++;
    this.start[id] = time;
    this.latency[id] = Number.NaN;
    this.backend[id] = -1;
    return id;
  }

  #grow(): void {
    const n = this.start.length * 2;
    this.start = grown(this.start, n);
    this.latency = grown(this.latency, n);
    this.backend = grown(this.backend, n);
    this.ending = grown(this.ending, n);
    this.status = grown(this.status, n);
    this.token = grown(this.token, n);
  }
}

type Column = Float64Array | Int32Array | Uint8Array | Uint16Array;

function grown<T extends Column>(column: T, n: number): T {
  const next = new (column.constructor as new (n: number) => T)(n);
  next.set(column);
  return next;
}
