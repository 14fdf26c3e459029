/**
 * A TCP proxy on 127.0.0.1 in front of a real server, for tests that need
 * the network between a client and etcd to fail in ways a killed server
 * cannot show:
 * - `"forward"`: bytes pass both ways;
 * - `"refuse"`: new connections are reset at once, and `cut()` resets the
 *   open ones (the server looks down while it is up);
 * - `"blackhole"`: connections stay open but no byte passes either way (a
 *   half-open connection, a partition): a watch over it goes silent without
 *   failing.
 */
import type { Server, Socket } from "node:net";
import { connect, createServer } from "node:net";

export type ProxyMode = "forward" | "refuse" | "blackhole";

export class TcpProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  mode: ProxyMode = "forward";
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Starts a proxy to 127.0.0.1:`targetPort` on a free port. */
  static async start(targetPort: number): Promise<TcpProxy> {
    let self: TcpProxy | undefined;
    const server = createServer((client) => self?.accept(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    self = new TcpProxy(server, (server.address() as { port: number }).port);
    return self;
  }

  /** Connections open through the proxy. */
  get connections(): number {
    return this.#sockets.size / 2;
  }

  /** Resets every open connection. */
  cut(): void {
    for (const s of this.#sockets) s.resetAndDestroy();
    this.#sockets.clear();
  }

  /** Resets every connection and stops listening. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  private accept(client: Socket, targetPort: number): void {
    if (this.mode === "refuse") {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, "127.0.0.1");
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.#sockets.add(from);
      from.on("data", (chunk) => {
        if (this.mode === "forward") to.write(chunk);
      });
      from.on("error", () => {});
      from.on("close", () => {
        this.#sockets.delete(from);
        to.destroy();
      });
    }
  }
}
