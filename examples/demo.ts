/**
 * `npm run demo`: three real HTTP servers on 127.0.0.1, 1,000 calls balanced
 * across them 50/30/20 with the global `fetch`, then a live blue → green
 * rollout by shifting weights with `resolver.set()`. Every count is taken on
 * the servers' side: each server counts the requests it received.
 * @module
 */
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { StaticHost, Upstream } from "../src/index.js";
import { createUpstream, staticResolver } from "../src/index.js";

const CALLS = 1000;
/** Calls in flight at once. */
const CONCURRENCY = 16;
const BAR_WIDTH = 40;

/** A local HTTP server that counts the requests it receives. */
interface CountingServer {
  readonly name: string;
  readonly server: Server;
  port: number;
  received: number;
}

async function startServer(name: string): Promise<CountingServer> {
  const server = createServer((_req, res) => {
    counting.received++;
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`${name}\n`);
  });
  const counting: CountingServer = { name, server, port: 0, received: 0 };
  server.listen(0, "127.0.0.1"); // a free port
  await once(server, "listening");
  counting.port = (server.address() as AddressInfo).port;
  return counting;
}

/** Closes a server and every connection still open to it (fetch keeps connections alive). */
function stopServer(s: CountingServer): Promise<void> {
  const closed = new Promise<void>((resolve) => s.server.close(() => resolve()));
  s.server.closeAllConnections();
  return closed;
}

/** `calls` requests through the upstream: pick, fetch, report the outcome. */
async function run(upstream: Upstream, calls: number): Promise<{ ok: number; failed: number }> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  const worker = async () => {
    while (next < calls) {
      next++;
      const target = upstream.pick();
      const started = performance.now();
      try {
        const response = await fetch(`http://${target.host}:${target.port}/`);
        await response.text();
        upstream.report(target, { status: response.status, latencyMs: performance.now() - started });
        if (response.ok) ok++;
        else failed++;
      } catch {
        upstream.report(target, { failure: "connect", latencyMs: performance.now() - started });
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { ok, failed };
}

/** One bar per server, scaled to the number of calls. */
function chart(title: string, servers: readonly CountingServer[], weights: readonly number[]): string {
  const total = servers.reduce((n, s) => n + s.received, 0);
  const width = Math.max(...servers.map((s) => s.name.length));
  const lines = servers.map((s, i) => {
    const bar = "█".repeat(Math.round((s.received / Math.max(1, total)) * BAR_WIDTH));
    const share = total === 0 ? 0 : (s.received / total) * 100;
    return `  ${s.name.padEnd(width)}  weight ${String(weights[i]).padStart(3)}  ${bar.padEnd(BAR_WIDTH)} ${String(s.received).padStart(4)} (${share.toFixed(1)}%)`;
  });
  return [title, ...lines].join("\n");
}

async function main(): Promise<void> {
  const servers = [await startServer("alpha"), await startServer("bravo"), await startServer("charlie")];
  const hosts = (weights: readonly number[]): StaticHost[] =>
    servers.map((s, i) => ({ host: "127.0.0.1", port: s.port, weight: weights[i] as number }));
  const reset = () => {
    for (const s of servers) s.received = 0;
  };

  let weights = [50, 30, 20];
  const resolver = staticResolver(hosts(weights));
  const upstream = createUpstream({ name: "demo", resolver });
  try {
    await upstream.ready();
    console.log(`switchyard demo: ${servers.map((s) => `${s.name} on 127.0.0.1:${s.port}`).join(", ")}\n`);

    let result = await run(upstream, CALLS);
    console.log(
      chart(
        `${CALLS} calls, weighted round robin 50/30/20 (${result.ok} ok, ${result.failed} failed)`,
        servers,
        weights,
      ),
    );

    // Blue-green: alpha is blue, bravo is green, charlie leaves (weight 0 = drained).
    console.log("\nBlue → green rollout: alpha is blue, bravo is green, charlie is drained\n");
    for (const step of [
      [100, 0, 0],
      [80, 20, 0],
      [0, 100, 0],
    ]) {
      weights = step;
      resolver.set(hosts(weights)); // the upstream swaps its picker before set() returns
      reset();
      result = await run(upstream, CALLS);
      console.log(
        chart(
          `resolver.set(${weights.join("/")}): ${CALLS} calls (${result.ok} ok, ${result.failed} failed)`,
          servers,
          weights,
        ),
      );
      console.log();
    }
    // The upstream's own view: per-endpoint health (Kong's words) and the outcomes reported.
    console.log("upstream.snapshot():");
    const names = new Map(servers.map((s) => [`127.0.0.1:${s.port}`, s.name]));
    for (const e of upstream.snapshot().endpoints) {
      console.log(
        `  ${names.get(e.endpoint.id)}: ${e.health}, ${e.requests} outcomes reported, ${e.failures} failures`,
      );
    }
  } finally {
    await upstream.close();
    await Promise.all(servers.map(stopServer));
  }
}

await main();
