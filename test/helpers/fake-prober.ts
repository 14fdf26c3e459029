import type { Probe, ProbeOutcome, Prober } from "../../src/health/active/probe.js";
import type { Clock, Endpoint } from "../../src/index.js";

/** A probe the test has not answered yet. */
export interface PendingProbe {
  readonly endpoint: Endpoint;
  /** Clock time it started. */
  readonly at: number;
  readonly done: (outcome: ProbeOutcome) => void;
}

/**
 * Probes a test answers by hand, for the checker's scheduling and counting
 * without sockets: `prober` goes where the socket prober would, each probe
 * waits in `pending` until `answer()`, and `started` lists every probe as
 * `"<id>@<clock time>"`.
 */
export class FakeProber {
  readonly pending: PendingProbe[] = [];
  readonly started: string[] = [];
  readonly aborted: string[] = [];
  /** When set, the prober throws it instead of starting. */
  throwOnStart: Error | undefined;

  readonly prober: Prober = (endpoint: Endpoint, _config: unknown, clock: Clock, done) => {
    if (this.throwOnStart !== undefined) throw this.throwOnStart;
    const probe: PendingProbe = { endpoint, at: clock.now(), done };
    this.pending.push(probe);
    this.started.push(`${endpoint.id}@${probe.at}`);
    const handle: Probe = {
      abort: () => {
        const i = this.pending.indexOf(probe);
        if (i >= 0) {
          this.pending.splice(i, 1);
          this.aborted.push(endpoint.id);
        }
      },
      closed: () => Promise.resolve(),
    };
    return handle;
  };

  /** Ends the pending probe of `id` with `outcome`. */
  answer(id: string, outcome: ProbeOutcome): void {
    const i = this.pending.findIndex((p) => p.endpoint.id === id);
    if (i < 0) throw new Error(`no probe of ${id} is pending (pending: ${this.pending.map((p) => p.endpoint.id)})`);
    const [probe] = this.pending.splice(i, 1);
    probe?.done(outcome);
  }

  /** Ends every pending probe, each with `outcome(id)`; returns how many. */
  answerAll(outcome: (id: string) => ProbeOutcome = () => ({ status: 200 })): number {
    const all = this.pending.splice(0);
    for (const p of all) p.done(outcome(p.endpoint.id));
    return all.length;
  }
}
