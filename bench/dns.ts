/**
 * DNS discovery figures, against the in-process DNS server of the tests
 * (127.0.0.1, UDP + TCP on one port): an answer of 1,000 SRV records goes out
 * truncated over UDP and is fetched again over TCP, as from a real server.
 *
 * - `dns.srv.refresh.n1000` (ms): one refresh of 1,000 SRV records — query,
 *   mapping, normalizing, and diffing into an upstream that rebuilds its
 *   picker (the answer alternates one weight, so every refresh is a change).
 *   Median of 15 rounds after 5 warm-up refreshes.
 * - `dns.srv.unchanged.rebuilds` (count): picker rebuilds caused by 100
 *   refreshes, driven by a `ManualClock`, of the same 1,000 records served in
 *   a different order each time. Must be 0.
 *
 * Prints nothing; closes every server, socket and timer before returning.
 */

import { createUpstream, dnsSrvResolver } from "../src/index.js";
import { ManualClock, seededRandom } from "../src/testing/index.js";
import type { SrvAnswer, TestDnsServer } from "../test/helpers/dns-server.js";
import { startDnsServer } from "../test/helpers/dns-server.js";
import type { Figure } from "./harness.js";
import { median } from "./harness.js";

const NAME = "_bench._tcp.dns.test";
const WARMUP = 5;
const ROUNDS = 15;
const UNCHANGED_REFRESHES = 100;

function records(n: number, firstWeight: number): SrvAnswer[] {
  return Array.from({ length: n }, (_, i) => ({
    target: `host${i}.dns.test`,
    port: 10_000 + i,
    priority: i % 2,
    weight: i === 0 ? firstWeight : 1 + (i % 9),
  }));
}

/** An SRV resolver at `server` on a manual clock, feeding a ready upstream. */
async function readyUpstream(server: TestDnsServer) {
  const clock = new ManualClock();
  const resolver = dnsSrvResolver(NAME, { servers: server.address, clock, jitter: 0, retries: 0 });
  const upstream = createUpstream({ name: "bench", resolver, clock, random: seededRandom(1) });
  await upstream.ready();
  await resolver.whenIdle();
  return { clock, resolver, upstream };
}

/** Computes the DNS figures whose name passes `select`. */
export async function dnsFigures(select: (name: string) => boolean): Promise<Figure[]> {
  const figures: Figure[] = [];
  const wantRefresh = select("dns.srv.refresh.n1000");
  const wantRebuilds = select("dns.srv.unchanged.rebuilds");
  if (!wantRefresh && !wantRebuilds) return figures;
  const a = records(1000, 5);
  const b = records(1000, 6);
  const server = await startDnsServer({ srv: { [NAME]: a } });
  try {
    if (wantRefresh) {
      const { resolver, upstream } = await readyUpstream(server);
      try {
        const times: number[] = [];
        for (let round = 0; round < WARMUP + ROUNDS; round++) {
          server.zone = { srv: { [NAME]: round % 2 === 0 ? b : a } };
          const start = performance.now();
          await resolver.refresh();
          const elapsed = performance.now() - start;
          if (round >= WARMUP) times.push(elapsed);
        }
        figures.push({ name: "dns.srv.refresh.n1000", value: Number(median(times).toFixed(3)), unit: "ms" });
      } finally {
        await upstream.close();
      }
    }
    if (wantRebuilds) {
      server.zone = { srv: { [NAME]: a } };
      server.shuffle = seededRandom(2026);
      const { clock, resolver, upstream } = await readyUpstream(server);
      try {
        let rebuilds = 0;
        upstream.on("picker", () => rebuilds++);
        const queries = server.queries.tcp;
        for (let i = 0; i < UNCHANGED_REFRESHES; i++) {
          clock.advance(30_000);
          await resolver.whenIdle();
        }
        // Each refresh is one truncated UDP answer and one TCP answer: prove they all ran.
        if (server.queries.tcp - queries !== UNCHANGED_REFRESHES) {
          throw new Error(`dns bench: expected ${UNCHANGED_REFRESHES} refreshes, saw ${server.queries.tcp - queries}`);
        }
        figures.push({ name: "dns.srv.unchanged.rebuilds", value: rebuilds, unit: "count" });
      } finally {
        await upstream.close();
      }
    }
  } finally {
    await server.close();
  }
  return figures;
}
