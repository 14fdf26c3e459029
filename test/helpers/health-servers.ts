import { readFileSync } from "node:fs";
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { createServer as createNetServer } from "node:net";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";

const tls = join(import.meta.dirname, "..", "fixtures", "tls");

/** The self-signed test key and certificate for 127.0.0.1 (test/fixtures/tls/README.md). */
export const TEST_TLS = {
  key: readFileSync(join(tls, "key.pem")),
  cert: readFileSync(join(tls, "cert.pem")),
};

/**
 * How a probe server answers: `"answer"` with `status` at once; `"hold"`
 * keeps each request open until `release()` (a slow server); `"hang-up"`
 * closes the connection without a response; `"garbage"` writes a line that
 * is not HTTP and closes.
 */
export type Behaviour = "answer" | "hold" | "hang-up" | "garbage";

/** Requests open at the servers that share it (received, not yet answered), and the most seen at once. */
export class Gauge {
  open = 0;
  max = 0;

  enter(): void {
    this.open++;
    this.max = Math.max(this.max, this.open);
  }

  leave(): void {
    this.open--;
  }
}

/** One request as a probe server saw it. */
export interface SeenRequest {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly httpVersion: string;
  readonly headers: IncomingHttpHeaders;
  /** Header names and values as they came, in order. */
  readonly rawHeaders: readonly string[];
  /** The TLS server name the client sent (https), or false when it sent none. */
  readonly servername?: string | false;
}

/**
 * A real HTTP or HTTPS server on 127.0.0.1 that health probes talk to:
 * its status and behaviour can change between probes, it can be stopped
 * (connections refused) and started again on the same port, and it records
 * every request.
 */
export class ProbeServer {
  status = 200;
  behaviour: Behaviour = "answer";
  readonly requests: SeenRequest[] = [];
  readonly #server: Server;
  readonly #gauge: Gauge;
  readonly #held: ServerResponse[] = [];
  readonly #sockets = new Set<Socket>();
  #port = 0;

  private constructor(server: Server, gauge: Gauge) {
    this.#server = server;
    this.#gauge = gauge;
    server.on("request", (req: IncomingMessage, res: ServerResponse) => this.#onRequest(req, res));
    // The raw TCP sockets (for https, under the TLS ones): one per connection.
    server.on("connection", (socket: Socket) => this.#track(socket));
    server.on("secureConnection", (socket: Socket) => socket.on("error", () => {}));
    server.on("clientError", (_error, socket: Socket) => socket.destroy());
    server.on("tlsClientError", () => {});
  }

  /** An HTTP server on a free port of 127.0.0.1. */
  static async http(gauge = new Gauge()): Promise<ProbeServer> {
    const s = new ProbeServer(createHttpServer(), gauge);
    await s.start();
    return s;
  }

  /** An HTTPS server with the self-signed test certificate. */
  static async https(gauge = new Gauge()): Promise<ProbeServer> {
    const s = new ProbeServer(createHttpsServer(TEST_TLS), gauge);
    await s.start();
    return s;
  }

  get port(): number {
    return this.#port;
  }

  /** `"127.0.0.1:<port>"`. */
  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  /** Connections open at the server now (its side of them). */
  get openSockets(): number {
    return this.#sockets.size;
  }

  /** Requests held open now. */
  get held(): number {
    return this.#held.length;
  }

  /** Answers every held request with the current status. */
  release(): void {
    for (const res of this.#held.splice(0)) this.#answer(res);
  }

  /** Listens (again) on its port, or on a free one the first time. */
  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#port, "127.0.0.1", () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  /** Stops listening and drops every connection: connections to it are refused until `start()`. */
  async stop(): Promise<void> {
    const held = this.#held.splice(0);
    this.#gauge.open -= held.length;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => this.#sockets.delete(socket));
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const servername = (req.socket as TLSSocket).encrypted ? (req.socket as TLSSocket).servername : undefined;
    this.requests.push({
      method: req.method,
      url: req.url,
      httpVersion: req.httpVersion,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      ...(servername === undefined || servername === null ? {} : { servername }),
    });
    this.#gauge.enter();
    switch (this.behaviour) {
      case "hold": {
        this.#held.push(res);
        res.on("close", () => {
          const i = this.#held.indexOf(res);
          if (i >= 0) {
            this.#held.splice(i, 1);
            this.#gauge.leave();
          }
        });
        return;
      }
      case "hang-up":
        this.#gauge.leave();
        req.socket.destroy();
        return;
      case "garbage":
        this.#gauge.leave();
        req.socket.end("NOT HTTP AT ALL\r\n\r\n");
        return;
      default:
        this.#answer(res);
    }
  }

  #answer(res: ServerResponse): void {
    this.#gauge.leave();
    res.statusCode = this.status;
    res.end("probe answer");
  }
}

/** A real TCP server on 127.0.0.1 that counts connections; stop it to refuse them. */
export class TcpServer {
  connections = 0;
  readonly #server = createNetServer((socket) => {
    this.connections++;
    this.#sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => this.#sockets.delete(socket));
    socket.end();
  });
  readonly #sockets = new Set<Socket>();
  #port = 0;

  static async start(): Promise<TcpServer> {
    const s = new TcpServer();
    await s.start();
    return s;
  }

  get port(): number {
    return this.#port;
  }

  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#port, "127.0.0.1", () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}

/** Waits, one event-loop turn at a time and for at most ~10 s, until `ready()` is true. */
export async function until(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (ready()) return;
    await new Promise((resolve) => setTimeout(resolve, i < 100 ? 0 : 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A port on 127.0.0.1 that nothing listens on (taken and released at once). */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
