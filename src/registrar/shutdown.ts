import { InvalidConfigError, show } from "../errors.js";
import { checkBoolean, checkDelay, checkOptions } from "../options.js";

/** Anything `closeOnSignals()` can close: a registrar, an upstream, a resolver, a server wrapper. */
export interface Closable {
  close(): Promise<void> | void;
}

/** Options of `closeOnSignals()`. */
export interface CloseOnSignalsOptions {
  /** The signals that start the shutdown. Default `["SIGTERM", "SIGINT"]`. */
  signals?: readonly NodeJS.Signals[];
  /** How long the closes may take before the process exits anyway, ms. Default 10,000. */
  deadlineMs?: number;
  /**
   * Exit the process when done: code 0 when everything closed in time, 1
   * when a close failed or the deadline passed. Default true. With false,
   * only the closes run (your own handler decides what happens next).
   */
  exit?: boolean;
  /** Called with each error a close threw or rejected with (default: `console.error`). */
  onError?: (error: unknown) => void;
}

/**
 * Graceful shutdown for self-registration: on the first of `signals`
 * (SIGTERM from an orchestrator, SIGINT from Ctrl-C), closes every one of
 * `closables` at once (a registrar deregisters, an upstream releases its
 * timers), waits for them up to `deadlineMs`, then exits (unless `exit`
 * is false). A second signal during the shutdown exits at once with code 1.
 * The handlers are removed when the shutdown ends; the function returned
 * removes them before (the shutdown then never runs).
 *
 * List registrars first in spirit: they are closed together, but it is the
 * deregistration that tells the fleet to stop sending traffic here.
 *
 * @example
 * const registrar = consulRegistrar({ service: { name: "api", address: "10.0.0.5", port: 8080 } });
 * await registrar.start();
 * closeOnSignals([registrar, server], { deadlineMs: 5000 });
 * @throws InvalidConfigError for options that are not what they document.
 */
export function closeOnSignals(closables: readonly Closable[], given?: CloseOnSignalsOptions): () => void {
  if (!Array.isArray(closables) || closables.some((c) => typeof (c as Closable)?.close !== "function")) {
    throw new InvalidConfigError("closables", "must be an array of objects with a close() method");
  }
  const options = checkOptions<CloseOnSignalsOptions>(given, "closeOnSignals()");
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  if (
    !Array.isArray(signals) ||
    signals.length === 0 ||
    signals.some((s) => typeof s !== "string" || !s.startsWith("SIG"))
  ) {
    throw new InvalidConfigError("signals", `must be a non-empty array of signal names, got ${show(signals)}`);
  }
  const deadlineMs = checkDelay(options.deadlineMs, "deadlineMs", 10_000);
  const exit = checkBoolean(options.exit, "exit", true);
  const onError = options.onError ?? ((error: unknown) => console.error(error));
  if (typeof onError !== "function") throw new InvalidConfigError("onError", "must be a function");

  let shuttingDown = false;
  const remove = () => {
    for (const s of signals) process.removeListener(s, handler);
  };
  const handler = () => {
    if (shuttingDown) {
      if (exit) process.exit(1);
      return;
    }
    shuttingDown = true;
    void shutDown();
  };
  const shutDown = async () => {
    let ok = true;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"late">((resolve) => {
      // A ref'd timer: the process stays up until the closes finish or the deadline passes.
      timer = setTimeout(() => resolve("late"), deadlineMs);
    });
    const closes = Promise.all(
      closables.map(async (c) => {
        try {
          await c.close();
        } catch (error) {
          ok = false;
          safely(onError, error);
        }
      }),
    );
    const result = await Promise.race([closes.then(() => "done" as const), deadline]);
    clearTimeout(timer);
    if (result === "late") {
      ok = false;
      safely(onError, new Error(`closeOnSignals(): closing took over ${deadlineMs} ms; exiting anyway`));
    }
    remove(); // a later signal gets Node's default (with exit false, the process goes on)
    if (exit) process.exit(ok ? 0 : 1);
  };
  for (const s of signals) process.on(s, handler);
  return remove;
}

function safely(onError: (error: unknown) => void, error: unknown): void {
  try {
    onError(error);
  } catch {
    // the error handler itself failed: nothing sensible is left to report to
  }
}
