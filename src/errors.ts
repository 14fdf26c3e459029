/**
 * Base of the errors switchyard raises for its own reasons, each with a
 * stable `code`, so callers can branch on `error.code` without parsing
 * messages. (An aborted operation rejects with its signal's `reason`, as
 * Node's own APIs do.)
 */
export class SwitchyardError extends Error {
  /** Stable, machine-readable error code (`ERR_...`). */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An endpoint could not be parsed or failed validation (host, port, weight, priority...). */
export class InvalidEndpointError extends SwitchyardError {
  /** The offending input, as given. */
  readonly input: unknown;

  constructor(message: string, input: unknown, options?: { cause?: unknown }) {
    super("ERR_INVALID_ENDPOINT", message, options);
    this.input = input;
  }
}

/** An option passed to a factory or constructor is invalid. */
export class InvalidConfigError extends SwitchyardError {
  /** The option path, e.g. `"priority.panicThreshold"`. */
  readonly option: string;

  constructor(option: string, message: string) {
    super("ERR_INVALID_CONFIG", `${option}: ${message}`);
    this.option = option;
  }
}

/**
 * An argument passed to a method is invalid: not the type or range the
 * method documents (an outcome with a status that is not an HTTP status, an
 * endpoint the upstream never gave out, a list that is not an array...).
 * Options of factories and constructors throw `InvalidConfigError` instead.
 */
export class InvalidArgumentError extends SwitchyardError {
  /** The argument's name, e.g. `"outcome.status"`. */
  readonly argument: string;

  constructor(argument: string, message: string) {
    super("ERR_INVALID_ARGUMENT", `${argument}: ${message}`);
    this.argument = argument;
  }
}

/**
 * Why nothing could be picked: `unresolved` (no endpoint set yet), `empty`
 * (the set is empty), `drained` (every weight is 0), `unhealthy` (every
 * endpoint is ejected or forced down and the panic threshold is 0),
 * `overloaded` (`begin()` found endpoints but every one tried was refused
 * admission by a plug-in that has no `refusal()` error of its own).
 */
export type NoEndpointsReason = "unresolved" | "empty" | "drained" | "unhealthy" | "overloaded";

const NO_ENDPOINTS_TEXT: Readonly<Record<NoEndpointsReason, string>> = {
  unresolved: "no endpoints resolved yet",
  empty: "the endpoint set is empty",
  drained: "every endpoint has weight 0",
  unhealthy: "every endpoint is unhealthy and the panic threshold is disabled",
  overloaded: "every endpoint tried was refused admission",
};

/**
 * Nothing is eligible to take traffic; `reason` says why, machine-readably.
 * Kong's equivalent is "failure to get a peer from the ring-balancer".
 */
export class NoEndpointsError extends SwitchyardError {
  /** The upstream that had nothing to pick. */
  readonly upstream: string;
  /** Why: `unresolved`, `empty`, `drained`, `unhealthy` or `overloaded`. */
  readonly reason: NoEndpointsReason;

  constructor(upstream: string, reason: NoEndpointsReason) {
    super("ERR_NO_ENDPOINTS", `upstream "${upstream}": no endpoint available (${NO_ENDPOINTS_TEXT[reason]})`);
    this.upstream = upstream;
    this.reason = reason;
  }
}

/** A resolver failed to produce an endpoint set. The upstream keeps its last good set. */
export class ResolverError extends SwitchyardError {
  /** The resolver's `name`, e.g. `"dns-srv:_http._tcp.api.test"`. */
  readonly resolver: string;

  constructor(resolver: string, message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? "ERR_RESOLVER", `${resolver}: ${message}`, options);
    this.resolver = resolver;
  }
}

/**
 * `ready()` did not see a first good resolution within its timeout (a
 * resolver error before then rejects `ready()` with that error instead).
 */
export class ReadyTimeoutError extends SwitchyardError {
  constructor(upstream: string, timeoutMs: number) {
    super("ERR_READY_TIMEOUT", `upstream "${upstream}": no endpoints resolved within ${timeoutMs} ms`);
  }
}

/** The object was closed; it no longer resolves, picks or schedules work. */
export class ClosedError extends SwitchyardError {
  constructor(what: string) {
    super("ERR_CLOSED", `${what} is closed`);
  }
}

/** A registry lookup named a service that is not registered. */
export class UnknownServiceError extends SwitchyardError {
  /** The service name that was looked up. */
  readonly service: string;

  constructor(service: string) {
    super("ERR_UNKNOWN_SERVICE", `no service registered as "${service}"`);
    this.service = service;
  }
}

/** An operation was aborted through its `AbortSignal`. */
export class AbortError extends SwitchyardError {
  constructor(message = "the operation was aborted", options?: { cause?: unknown }) {
    super("ABORT_ERR", message, options);
  }
}

/**
 * A user's value, shown in an error message without calling anything of its
 * own (an object's `toString` may throw, or lie): strings quoted, numbers
 * and other primitives as they print, anything else by its kind.
 */
export function show(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
    case "number":
    case "boolean":
    case "undefined":
      return String(value);
    case "bigint":
      return `${value}n`;
    case "symbol":
      return "a symbol";
    case "function":
      return "a function";
    default:
      return value === null ? "null" : Array.isArray(value) ? "an array" : "an object";
  }
}

/**
 * A circuit breaker refused a call: it is open, or half-open with every
 * probe taken. `retryAfterMs` says when to try again: the time left until it
 * goes half-open, or 0 when it is half-open (a probe is in flight; a slot
 * frees when one settles). cockatiel calls it `BrokenCircuitError`.
 */
export class CircuitOpenError extends SwitchyardError {
  /** The breaker's state when it refused: `"open"` or `"half-open"`. */
  readonly state: "open" | "half-open";
  /** Milliseconds until the breaker lets a probe through (0 when half-open). */
  readonly retryAfterMs: number;

  constructor(state: "open" | "half-open", retryAfterMs: number) {
    super(
      "ERR_CIRCUIT_OPEN",
      state === "open"
        ? `the circuit is open; it lets a probe through in ${Math.ceil(retryAfterMs)} ms`
        : "the circuit is half-open and every probe is taken; retry when one settles",
    );
    this.state = state;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Which concurrency limit refused an attempt: the whole upstream's, or one endpoint's. */
export type ConcurrencyLimitKind = "upstream" | "endpoint";

/**
 * `begin()` refused an attempt because a concurrency limit was reached
 * (`concurrencyLimits()`, Envoy's cluster circuit breakers): `limit` says
 * which, `max` what it is. The attempt was not started; nothing was counted.
 */
export class ConcurrencyLimitError extends SwitchyardError {
  /** The upstream that refused. */
  readonly upstream: string;
  /** `"upstream"`: the upstream's `maxRequests` in flight; `"endpoint"`: every endpoint tried had `maxRequestsPerEndpoint`. */
  readonly limit: ConcurrencyLimitKind;
  /** The limit's value. */
  readonly max: number;

  constructor(upstream: string, limit: ConcurrencyLimitKind, max: number) {
    super(
      "ERR_CONCURRENCY_LIMIT",
      limit === "upstream"
        ? `upstream "${upstream}": ${max} attempts in flight, its limit (maxRequests)`
        : `upstream "${upstream}": every endpoint tried has ${max} attempts in flight, the per-endpoint limit (maxRequestsPerEndpoint)`,
    );
    this.upstream = upstream;
    this.limit = limit;
    this.max = max;
  }
}
