/**
 * HTTP registry figures: the cost of one Consul answer of 10,000 instances,
 * in the shape Consul's API documents (each with its Node, Service and two
 * Checks, as test/fixtures/registry/consul-health-service.json; about 11 MB
 * of JSON), from the body bytes to the picker.
 *
 * - `registry.consul.parse.n10000` (ms): one refresh of a `consulResolver`
 *   whose `fetch` hands back the prepared body (no socket: the figure is
 *   the resolver's and the upstream's work, not the network's): reading the
 *   body under the size cap, UTF-8 and JSON, mapping each instance (status
 *   of its checks, address fallback, weights, tags, metadata), normalizing,
 *   and diffing into an upstream that rebuilds its picker. Every refresh
 *   changes one weight, so every one is applied. Median of 15 after 3
 *   warm-up refreshes. Target: ≤ 100 ms.
 * - `registry.consul.json-parse.n10000` (ms): the floor under it, measured
 *   in the same rounds, interleaved: `TextDecoder` and `JSON.parse` of the
 *   same bytes and nothing else. The difference is switchyard's own work.
 * - `registry.consul.unchanged.n10000` (ms): a blocking query over the same
 *   10,000 instances that returns at its wait, with the index it was sent:
 *   the last answer is re-announced without reading the body.
 *
 * Prints nothing; closes the resolver and upstream before returning.
 */
import { consulResolver, createUpstream } from "../src/index.js";
import { ManualClock, seededRandom } from "../src/testing/index.js";
import { consulEntry } from "../test/helpers/registry-server.js";
import type { Figure } from "./harness.js";
import { median } from "./harness.js";

const N = 10_000;
const WARMUP = 3;
const ROUNDS = 15;

/** The JSON body of a Consul answer with `n` instances; the first has Weights.Passing `firstWeight`. */
function consulBody(n: number, firstWeight: number): Uint8Array {
  const entries = Array.from({ length: n }, (_, i) =>
    consulEntry({
      node: `node-${i}`,
      nodeAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      address: i % 2 === 0 ? "" : `10.${100 + ((i >> 16) & 255)}.${(i >> 8) & 255}.${i & 255}`,
      port: 20_000 + (i % 1000),
      tags: ["v2", i % 10 === 0 ? "canary" : "stable"],
      meta: { version: "2.1.0", zone: `zone-${i % 3}` },
      weights: { Passing: i === 0 ? firstWeight : 1 + (i % 9), Warning: 1 },
    }),
  );
  return new TextEncoder().encode(JSON.stringify(entries));
}

/** Computes the registry figures whose name passes `select`. */
export async function registryFigures(select: (name: string) => boolean): Promise<Figure[]> {
  const wantParse = select(`registry.consul.parse.n${N}`);
  const wantBaseline = select(`registry.consul.json-parse.n${N}`);
  const wantUnchanged = select(`registry.consul.unchanged.n${N}`);
  if (!wantParse && !wantBaseline && !wantUnchanged) return [];
  const bodies = [consulBody(N, 5), consulBody(N, 6)];
  let next = bodies[0] as Uint8Array;
  let index = 1;
  const clock = new ManualClock();
  const resolver = consulResolver("api", {
    blocking: false,
    clock,
    jitter: 0,
    retries: 0,
    fetch: async () =>
      new Response(next, {
        status: 200,
        headers: { "content-type": "application/json", "x-consul-index": String(index++) },
      }),
  });
  const upstream = createUpstream({ name: "api", resolver, clock, random: seededRandom(1) });
  const figures: Figure[] = [];
  try {
    await upstream.ready();
    await resolver.whenIdle();
    if (upstream.endpoints.length !== N)
      throw new Error(`registry bench: ${upstream.endpoints.length} endpoints, not ${N}`);
    let errors = 0;
    resolver.on("error", () => errors++);
    const time = async (rounds: number, body: (round: number) => Uint8Array): Promise<number[]> => {
      const times: number[] = [];
      for (let round = 0; round < rounds; round++) {
        next = body(round);
        const start = performance.now();
        await resolver.refresh();
        times.push(performance.now() - start);
      }
      return times;
    };
    if (wantParse || wantBaseline) {
      let changes = 0;
      upstream.on("endpoints", () => changes++);
      const times: number[] = [];
      const baseline: number[] = [];
      for (let round = 0; round < WARMUP + ROUNDS; round++) {
        const body = bodies[(round + 1) % 2] as Uint8Array;
        // The floor, interleaved round by round: decoding and JSON.parse of the same bytes, nothing else.
        const t0 = performance.now();
        const parsed = JSON.parse(new TextDecoder().decode(body)) as unknown[];
        const t1 = performance.now();
        if (parsed.length !== N) throw new Error("registry bench: bad body");
        times.push(...(await time(1, () => body)));
        baseline.push(t1 - t0);
      }
      if (changes !== WARMUP + ROUNDS) {
        throw new Error(`registry bench: ${changes} changes applied, not ${WARMUP + ROUNDS}`);
      }
      if (wantParse) {
        const value = median(times.slice(WARMUP));
        figures.push({ name: `registry.consul.parse.n${N}`, value: Number(value.toFixed(3)), unit: "ms" });
      }
      if (wantBaseline) {
        const value = median(baseline.slice(WARMUP));
        figures.push({ name: `registry.consul.json-parse.n${N}`, value: Number(value.toFixed(3)), unit: "ms" });
      }
    }
    if (wantUnchanged) {
      // A blocking query that returns at its wait: the index it was sent comes back.
      const held = String(index - 1);
      const blocking = consulResolver("api", {
        clock,
        jitter: 0,
        retries: 0,
        minIntervalMs: 0,
        fetch: async () =>
          new Response(next, { status: 200, headers: { "content-type": "application/json", "x-consul-index": held } }),
      });
      try {
        blocking.start();
        await blocking.whenIdle();
        if (blocking.endpoints?.length !== N) throw new Error("registry bench: the blocking resolver has no endpoints");
        let changes = 0;
        blocking.on("endpoints", () => changes++);
        const times: number[] = [];
        for (let round = 0; round < WARMUP + ROUNDS; round++) {
          const start = performance.now();
          await blocking.refresh();
          if (round >= WARMUP) times.push(performance.now() - start);
        }
        if (changes !== 0) throw new Error(`registry bench: an unchanged answer was applied ${changes} times`);
        figures.push({ name: `registry.consul.unchanged.n${N}`, value: Number(median(times).toFixed(3)), unit: "ms" });
      } finally {
        await blocking.close();
      }
    }
    if (errors !== 0) throw new Error(`registry bench: ${errors} resolver errors`);
  } finally {
    await upstream.close();
  }
  return figures;
}
