/**
 * HTTP registry figures: the cost of one Consul answer of 10,000 instances,
 * in the shape Consul's API documents (each with its Node, Service and two
 * Checks, as test/fixtures/registry/consul-health-service.json; about 8.4 MB
 * of JSON), from the body bytes to the picker.
 *
 * - `registry.consul.parse.n10000` (ms): one refresh of a `consulResolver`
 *   whose `fetch` hands back the prepared body (no socket: the figure is
 *   the resolver's and the upstream's work, not the network's): reading the
 *   body under the size cap, UTF-8 and JSON, mapping each instance (status
 *   of its checks, address fallback, weights, tags, metadata; an instance
 *   equal to one of the previous answer is that answer's endpoint, as in
 *   any refresh after the first), normalizing, publishing the set with its
 *   delta, and the upstream applying it and rebuilding the picker of the
 *   level it touches (here the only one, 10,000 endpoints). Every refresh
 *   changes one weight, so every one is applied. Median of 15 after 3
 *   warm-up refreshes. Target: ≤ 100 ms.
 * - `registry.consul.json-parse.n10000` (ms): the floor under it, measured
 *   in the same rounds, interleaved: `TextDecoder` and `JSON.parse` of the
 *   same bytes and nothing else (its tree dropped before the refresh, so
 *   the refresh's collections do not mark it). The difference is
 *   switchyard's own work, and the garbage collections that land in it
 *   (each body parsed is a tree of some 11 MB of objects to collect).
 * - `registry.consul.unchanged.n10000` (ms): a blocking query over the same
 *   10,000 instances that returns at its wait, with the index it was sent:
 *   the last answer is re-announced without reading the body.
 *
 * - `registry.k8s.apply.n10000` (ms): one Kubernetes watch event (a
 *   MODIFIED EndpointSlice in which 1 endpoint of 100 changed its address)
 *   applied to a `kubernetesResolver` holding 100 slices of 100 endpoints
 *   (10,000), up to the upstream's `endpoints` event: the line read from the
 *   watch stream, JSON, the slice read (its 99 unchanged endpoints reused),
 *   the slice set updated, the change published as a delta
 *   (`publishChanges()`) and applied by the upstream in O(changed), which
 *   then rebuilds the picker of the one priority level it touches (O(size
 *   of the level): here all 10,000 endpoints are in it). Slices of 100
 *   endpoints are what the EndpointSlice controller makes by default
 *   (`--max-endpoints-per-slice`, at most 1,000), each endpoint with its
 *   zone, node and Pod reference, and empty conditions (missing means
 *   ready; the API server writes all three). The stream is a `fetch` of the bench's own (no socket). Median
 *   of 30 after 5 warm-up events. Target: ≤ 1 ms.
 * - `registry.k8s.event.n10000` (ms): the part of it that is O(changed),
 *   measured in the same rounds, interleaved: JSON.parse of the same line,
 *   `parseSliceEvent` (reusing the slice's unchanged endpoints, as the
 *   resolver does) and `SliceSet.apply` on a set of the same 10,000
 *   endpoints. The difference is the publishing, the refresh loop's step and
 *   the upstream's apply and picker rebuild.
 *
 * Prints nothing; closes the resolvers and upstreams before returning.
 */
import { consulResolver, createUpstream, kubernetesResolver } from "../src/index.js";
import { SliceSet } from "../src/resolvers/registry/k8s-endpoints.js";
import { parseSliceEvent, parseSliceList } from "../src/resolvers/registry/k8s-slices.js";
import { ManualClock, seededRandom } from "../src/testing/index.js";
import { endpointSlice } from "../test/helpers/kubernetes-api.js";
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
  return [...(await consulFigures(select)), ...(await kubernetesFigures(select))];
}

const SLICES = 100;
const PER_SLICE = 100;
const K8S_WARMUP = 5;
const K8S_ROUNDS = 30;

/** Slice `s` of the bench's service; endpoint 0 of it at `10.<s>.0.<first>`. */
function benchSlice(s: number, first: number): Record<string, unknown> {
  const endpoints = Array.from({ length: PER_SLICE }, (_, i) => ({
    ip: i === 0 ? `10.${s}.0.${first}` : `10.${s}.1.${i}`,
    zone: `zone-${i % 3}`,
    node: `node-${(s * PER_SLICE + i) % 500}`,
    pod: `api-${s}-${i}`,
  }));
  const slice = endpointSlice(`api-${s}`, "api", endpoints);
  (slice.metadata as Record<string, unknown>).resourceVersion = String(1000 + s);
  return slice;
}

async function kubernetesFigures(select: (name: string) => boolean): Promise<Figure[]> {
  const wantApply = select(`registry.k8s.apply.n${N}`);
  const wantEvent = select(`registry.k8s.event.n${N}`);
  if (!wantApply && !wantEvent) return [];
  const slices = Array.from({ length: SLICES }, (_, s) => benchSlice(s, 1));
  const list = new TextEncoder().encode(
    JSON.stringify({ kind: "EndpointSliceList", metadata: { resourceVersion: "2000" }, items: slices }),
  );
  // Event r changes endpoint 0 of slice r % 100 to a new address.
  const events = Array.from({ length: K8S_WARMUP + K8S_ROUNDS }, (_, r) => {
    const object = benchSlice(r % SLICES, 2 + Math.floor(r / SLICES));
    (object.metadata as Record<string, unknown>).resourceVersion = String(3000 + r);
    return new TextEncoder().encode(`${JSON.stringify({ type: "MODIFIED", object })}\n`);
  });
  let stream: ReadableStreamDefaultController<Uint8Array> | undefined;
  const clock = new ManualClock();
  const resolver = kubernetesResolver("api", {
    apiServer: "http://k8s.bench.invalid",
    clock,
    jitter: 0,
    retries: 0,
    minIntervalMs: 0,
    minListIntervalMs: 0,
    fetch: async (input) => {
      if (new URL(String(input)).searchParams.get("watch") !== "1") return new Response(list);
      return new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            stream = controller;
          },
        }),
      );
    },
  });
  const upstream = createUpstream({ name: "api", resolver, clock, random: seededRandom(1) });
  // The O(changed) part alone, on a set of its own.
  const context = { resolver: "bench", registry: "kubernetes" };
  const options = { scheme: "http", port: undefined, condition: "ready" as const };
  const set = new SliceSet("auto");
  set.reset(parseSliceList(JSON.parse(new TextDecoder().decode(list)), options, context).slices);
  const figures: Figure[] = [];
  try {
    await upstream.ready();
    if (upstream.endpoints.length !== N) throw new Error(`k8s bench: ${upstream.endpoints.length} endpoints, not ${N}`);
    clock.advance(0); // the watch opens
    for (let i = 0; i < 1000 && !resolver.watching; i++) await new Promise((resolve) => setImmediate(resolve));
    if (!resolver.watching || stream === undefined) throw new Error("k8s bench: the watch did not open");
    const applied: number[] = [];
    const parsed: number[] = [];
    let changes = 0;
    upstream.on("endpoints", () => changes++);
    for (let r = 0; r < events.length; r++) {
      const bytes = events[r] as Uint8Array;
      // The O(changed) floor, interleaved: the same line through JSON, the slice parser and the set.
      const t0 = performance.now();
      const event = parseSliceEvent(JSON.parse(new TextDecoder().decode(bytes)), options, context, (name) =>
        set.known(name),
      );
      if (event.type !== "MODIFIED" || !set.apply(event.slice.name, event.slice))
        throw new Error("k8s bench: no change");
      parsed.push(performance.now() - t0);
      clock.advance(0); // the refresh loop's next step: reading the watch
      const done = new Promise<void>((resolve) => upstream.once("endpoints", () => resolve()));
      const t1 = performance.now();
      stream.enqueue(bytes);
      await done;
      applied.push(performance.now() - t1);
    }
    if (changes !== events.length) throw new Error(`k8s bench: ${changes} changes applied, not ${events.length}`);
    if (upstream.endpoints.length !== N) throw new Error("k8s bench: the set changed size");
    if (wantApply) {
      figures.push({
        name: `registry.k8s.apply.n${N}`,
        value: Number(median(applied.slice(K8S_WARMUP)).toFixed(3)),
        unit: "ms",
      });
    }
    if (wantEvent) {
      figures.push({
        name: `registry.k8s.event.n${N}`,
        value: Number(median(parsed.slice(K8S_WARMUP)).toFixed(3)),
        unit: "ms",
      });
    }
  } finally {
    await upstream.close();
  }
  return figures;
}

async function consulFigures(select: (name: string) => boolean): Promise<Figure[]> {
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
        // Only its length is kept: a tree held across the refresh below would be live in every collection there.
        const t0 = performance.now();
        const length = (JSON.parse(new TextDecoder().decode(body)) as unknown[]).length;
        const t1 = performance.now();
        if (length !== N) throw new Error("registry bench: bad body");
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
