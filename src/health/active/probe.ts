import type { ClientRequest } from "node:http";
import { request } from "node:http";
import type { Socket } from "node:net";
import { isIP, connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { Clock, Timer } from "../../clock.js";
import type { Endpoint } from "../../endpoint.js";
import type { ActiveConfig } from "./options.js";
import { HTTPS, TCP } from "./options.js";
import type { ActiveProbeFailure } from "./results.js";

/** What a probe found: a status, a failure, or (a TCP probe that connected) neither. @internal */
export interface ProbeOutcome {
  readonly status?: number;
  readonly failure?: ActiveProbeFailure;
  readonly error?: string;
}

/** A probe in flight. @internal */
export interface Probe {
  /** Stops it: the socket is destroyed and `done` is not called. */
  abort(): void;
  /** Resolves once its socket is closed (at once when it has none or it is closed already). */
  closed(): Promise<void>;
}

/**
 * Starts one probe of `endpoint`; `done` is called once, never
 * synchronously, unless the probe is aborted first. @internal
 */
export type Prober = (
  endpoint: Endpoint,
  config: ActiveConfig,
  clock: Clock,
  done: (outcome: ProbeOutcome) => void,
) => Probe;

/**
 * The probes over real sockets (Kong's `run_single_check`): a TCP connect,
 * or an HTTP/1.1 GET (over TLS for https) that ends at the status line. Each
 * probe opens its own socket, with no agent and so no pooling, sends
 * `Connection: close`, and destroys the socket as soon as it has its answer,
 * so no socket outlives a probe. The timeout is a timer on the injected
 * clock, covering the whole probe. @internal
 */
export const socketProber: Prober = (endpoint, config, clock, done) => {
  const run = new ProbeRun(clock, config.timeoutMs, done);
  try {
    if (config.type === TCP) {
      run.attach(netConnect({ host: endpoint.host, port: endpoint.port })).on("connect", () => run.finish({}));
    } else {
      // No agent at all: the request runs on the one socket made here, which
      // the run owns and destroys (an agent would keep its own, and pool).
      const req = request({
        host: endpoint.host,
        port: endpoint.port,
        method: "GET",
        path: config.httpPath,
        setHost: false,
        headers: requestHeaders(endpoint, config),
        createConnection: () =>
          run.attach(
            config.type === HTTPS
              ? tlsConnect({
                  host: endpoint.host,
                  port: endpoint.port,
                  servername: serverName(endpoint, config),
                  rejectUnauthorized: config.verify,
                })
              : netConnect({ host: endpoint.host, port: endpoint.port }),
          ),
      });
      run.request = req;
      req.on("response", (res) => {
        // The status line is the answer; the body is not read. A response cut short reports "aborted": ignored.
        res.on("error", () => {});
        run.finish({ status: res.statusCode ?? 0 });
        res.destroy();
      });
      req.on("error", (error) => run.finish(classify(error)));
      req.end();
    }
  } catch (error) {
    queueMicrotask(() => run.finish(classify(error)));
  }
  return run;
};

/** The Host header: the `host` option, else the endpoint's hostname (as Kong), else `ip:port`. @internal */
export function hostHeader(endpoint: Endpoint, config: ActiveConfig): string {
  const set = config.headers.host;
  return typeof set === "string" ? set : (endpoint.hostname ?? endpoint.id);
}

/** The TLS server name: `httpsSni`, else the endpoint's hostname or host name; none for a bare IP. @internal */
export function serverName(endpoint: Endpoint, config: ActiveConfig): string | undefined {
  return config.sni ?? endpoint.hostname ?? (isIP(endpoint.host) === 0 ? endpoint.host : undefined);
}

function requestHeaders(endpoint: Endpoint, config: ActiveConfig): Record<string, string | string[]> {
  return { ...config.headers, host: hostHeader(endpoint, config), connection: "close" };
}

/** Kong's reading of a socket error: a malformed answer is an HTTP failure (its status 0), the rest TCP failures. */
function classify(error: unknown): ProbeOutcome {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string") {
    if (code.startsWith("HPE_")) return { failure: "http", error: code };
    if (code === "ETIMEDOUT") return { failure: "timeout", error: code };
    return { failure: "tcp", error: code };
  }
  return { failure: "tcp", error: error instanceof Error ? error.message : String(error) };
}

/** One probe's socket, timer and single ending. */
class ProbeRun implements Probe {
  request: ClientRequest | undefined;
  #socket: Socket | undefined;
  #timer: Timer | undefined;
  #closed: Promise<void> | undefined;
  #done: ((outcome: ProbeOutcome) => void) | undefined;

  constructor(clock: Clock, timeoutMs: number, done: (outcome: ProbeOutcome) => void) {
    this.#done = done;
    this.#timer = clock.setTimer(
      () => this.finish({ failure: "timeout", error: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
  }

  /** Takes ownership of the probe's socket. */
  attach(socket: Socket): Socket {
    this.#socket = socket;
    // The 'close' event, not `socket.closed` (true as soon as it is destroyed): the
    // handle is released only when libuv has closed it, and then 'close' is emitted.
    this.#closed = new Promise((resolve) => socket.once("close", () => resolve()));
    // Errors after the end (a reset as the socket is destroyed) land here, never unhandled.
    socket.on("error", (error) => this.finish(classify(error)));
    if (this.#done === undefined) socket.destroy();
    return socket;
  }

  /** Ends the probe once with `outcome`; later calls do nothing. */
  finish(outcome: ProbeOutcome): void {
    const done = this.#done;
    if (done === undefined) return;
    this.abort();
    done(outcome);
  }

  abort(): void {
    this.#done = undefined;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.request?.destroy();
    this.#socket?.destroy();
  }

  closed(): Promise<void> {
    return this.#closed ?? Promise.resolve();
  }
}
