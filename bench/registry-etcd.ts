/**
 * etcd discovery figure, against the real etcd (Debian's `etcd-server`,
 * started on 127.0.0.1 and free high ports with a temporary data dir, as
 * the system test does):
 *
 * - `registry.etcd.watch.latency` (ms): from sending a put of a new instance
 *   (`POST /v3/kv/put` over etcd's JSON gateway) to that endpoint being
 *   pickable from an upstream over `etcdResolver()` with its default options
 *   (the put's own round trip included): etcd commits the put and sends the
 *   event on the resolver's watch stream, the resolver applies it and
 *   publishes the set, the upstream rebuilds its picker. Each round puts one
 *   new instance and deletes the previous one, so the set stays at two or
 *   three endpoints. Median of 25 rounds after 5 warm-up rounds. Target: ≤ 20 ms
 *   (bar: 200 ms).
 *
 * Without etcd installed (`scripts/install-test-deps.sh`), says so on stderr
 * and measures nothing. Kills etcd and removes its data dir before returning.
 */
import { createUpstream, etcdResolver } from "../src/index.js";
import { EtcdProcess, findEtcd } from "../test/helpers/etcd-process.js";
import type { Figure } from "./harness.js";
import { median } from "./harness.js";

const NAME = "registry.etcd.watch.latency";
const WARMUP = 5;
const ROUNDS = 25;

/** Computes the etcd figure when `select` wants it and etcd is installed. */
export async function registryEtcdFigures(select: (name: string) => boolean): Promise<Figure[]> {
  if (!select(NAME)) return [];
  const binary = findEtcd();
  if (binary === undefined) {
    process.stderr.write(`${NAME}: skipped, etcd is not installed (scripts/install-test-deps.sh installs it)\n`);
    return [];
  }
  const etcd = await EtcdProcess.create(binary, 1_000);
  try {
    await etcd.start();
    await etcd.put("/bench/api/base", "127.0.0.1:9000");
    const resolver = etcdResolver("/bench/api/", { endpoints: etcd.url });
    let errors = 0;
    resolver.on("error", () => errors++);
    const upstream = createUpstream({ name: "api", resolver });
    try {
      await upstream.ready({ timeoutMs: 10_000 });
      const times: number[] = [];
      for (let round = 0; round < WARMUP + ROUNDS; round++) {
        const id = `127.0.0.1:${10_000 + round}`;
        const pickable = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${NAME}: ${id} not seen within 5 s`)), 5_000);
          const check = () => {
            if (!upstream.endpoints.some((e) => e.id === id)) return;
            clearTimeout(timer);
            upstream.off("endpoints", check);
            resolve();
          };
          upstream.on("endpoints", check);
        });
        const start = performance.now();
        await etcd.put(`/bench/api/${round}`, id);
        await pickable;
        const elapsed = performance.now() - start;
        // Pickable: round robin over the endpoints reaches it within as many picks.
        let picked = false;
        for (let i = 0; i < upstream.endpoints.length && !picked; i++) picked = upstream.pick().id === id;
        if (!picked) throw new Error(`${NAME}: ${id} is not picked`);
        if (round >= WARMUP) times.push(elapsed);
        if (round > 0) await etcd.delete(`/bench/api/${round - 1}`);
      }
      if (errors !== 0) throw new Error(`${NAME}: ${errors} resolver errors`);
      return [{ name: NAME, value: Number(median(times).toFixed(3)), unit: "ms" }];
    } finally {
      await upstream.close();
    }
  } finally {
    await etcd.dispose();
  }
}
