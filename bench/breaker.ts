/**
 * Figures of the circuit breakers, against the peers users would otherwise
 * pick (REFERENCE.md, "Measured peers"):
 *
 * - `breaker.baseline` (ns/op): `await fn()`, `fn` an async function
 *   returning a constant; the unit of the next three ratios.
 * - `breaker.execute`, `breaker.cockatiel`, `breaker.opossum` (ns/op, ratio
 *   to `breaker.baseline` of the same run): the same call through
 *   `CircuitBreaker.execute()` (consecutive failures), cockatiel's
 *   consecutive breaker (`circuitBreaker(handleAll, { breaker: new
 *   ConsecutiveBreaker(5) }).execute()`), and opossum's `fire()` with its
 *   default options. Rounds of the four are interleaved, so the shared
 *   machine's noise falls on all of them alike; each value is the fastest
 *   round. cockatiel and opossum are devDependencies at the newest versions
 *   that run on Node 20 (cockatiel 3.2.1, opossum 9.0.0).
 * - `breaker.permit` (ns/op, ratio to the array-index baseline):
 *   `tryAcquire()` then `success()` on the synchronous core.
 * - `health.timers.n10000` (count): timers held by the breakers of a
 *   10,000-endpoint upstream with `circuitBreakers()`, all closed, after an
 *   outcome reported on every endpoint: must be 0.
 * @module
 */
import { CircuitBreaker, circuitBreakers, consecutiveFailures, createUpstream, staticResolver } from "../src/index.js";
import type { Figure } from "./harness.js";
import { figure, nsPerOp, ROUNDS, sink } from "./harness.js";
import { baselinePicker, endpointInputs } from "./pick.js";

/** Calls per timed round of an async figure. */
const ASYNC_OPS = 20_000;

type AsyncCall = () => Promise<number>;

async function constant(): Promise<number> {
  return 1;
}

/** Runs `ops` awaited calls; returns ns per call. */
async function asyncRound(call: AsyncCall, ops: number): Promise<number> {
  let acc = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) acc += await call();
  const ns = Number(process.hrtime.bigint() - t0);
  sink(acc);
  return ns / ops;
}

/** Interleaved rounds of every call; the fastest round of each, in ns per call. */
async function interleavedAsync(calls: readonly AsyncCall[]): Promise<number[]> {
  for (const call of calls) await asyncRound(call, ASYNC_OPS); // warm-up
  const rounds: number[][] = calls.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (let c = 0; c < calls.length; c++)
      (rounds[c] as number[]).push(await asyncRound(calls[c] as AsyncCall, ASYNC_OPS));
  }
  return rounds.map((r) => Math.min(...r));
}

async function peerCalls(): Promise<{ cockatiel: AsyncCall; opossum: AsyncCall; close: () => void }> {
  const cockatiel = await import("cockatiel");
  const policy = cockatiel.circuitBreaker(cockatiel.handleAll, {
    halfOpenAfter: 10_000,
    breaker: new cockatiel.ConsecutiveBreaker(5),
  });
  const Opossum = (await import("opossum")).default;
  const fired = new Opossum(constant);
  return {
    cockatiel: () => policy.execute(constant),
    opossum: () => fired.fire() as Promise<number>,
    close: () => fired.shutdown(),
  };
}

function timersOfBreakers(): number {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
  const before = timers();
  const upstream = createUpstream({
    name: "timers",
    resolver: staticResolver(endpointInputs(10_000, { weighted: false })),
    plugins: [circuitBreakers()],
  });
  for (const e of upstream.endpoints) upstream.report(e, { status: 200 });
  const held = timers() - before;
  void upstream.close();
  return held;
}

/** Runs the breaker figures whose name `select` accepts, in report order. */
export async function breakerFigures(select: (name: string) => boolean): Promise<Figure[]> {
  const figures: Figure[] = [];
  const wanted = ["breaker.baseline", "breaker.execute", "breaker.cockatiel", "breaker.opossum"].some(select);
  if (wanted) {
    const ours = new CircuitBreaker({ strategy: consecutiveFailures(5) });
    const peers = await peerCalls();
    const [bare, execute, cockatiel, opossum] = await interleavedAsync([
      constant,
      () => ours.execute(constant),
      peers.cockatiel,
      peers.opossum,
    ]);
    peers.close();
    const base = bare as number;
    const entries: [string, number][] = [
      ["breaker.execute", execute as number],
      ["breaker.cockatiel", cockatiel as number],
      ["breaker.opossum", opossum as number],
    ];
    if (select("breaker.baseline")) figures.push(figure("breaker.baseline", "ns/op", base));
    for (const [name, value] of entries) {
      if (select(name)) figures.push(figure(name, "ns/op", { value, ratio: value / base }));
    }
  }
  if (select("breaker.permit")) {
    const breaker = new CircuitBreaker({ strategy: consecutiveFailures(5) });
    figures.push(
      figure(
        "breaker.permit",
        "ns/op",
        nsPerOp(() => {
          const permit = breaker.tryAcquire();
          return permit === undefined ? 0 : Number(permit.success());
        }, baselinePicker()),
      ),
    );
  }
  if (select("health.timers.n10000")) figures.push(figure("health.timers.n10000", "count", timersOfBreakers()));
  return figures;
}
