import type { RegistrarOptions } from "../../src/index.js";
import { Registrar } from "../../src/index.js";

/** One scripted answer of the fake registry: succeed, fail, say "lost" (heartbeats), or never answer (until aborted). */
export type Answer = "ok" | "fail" | "lost" | "hang";

/**
 * A registrar against a scripted in-memory registry, for the base class's
 * life cycle: each operation takes the next answer of its script (default
 * "ok") and is logged as `op@time`.
 */
export class FakeRegistrar extends Registrar {
  readonly log: string[] = [];
  readonly script: Record<"register" | "heartbeat" | "deregister", Answer[]> = {
    register: [],
    heartbeat: [],
    deregister: [],
  };
  readonly #now: () => number;

  constructor(options: RegistrarOptions & { heartbeatIntervalMs?: number; now: () => number }) {
    super({ name: "fake:api-1", ...options });
    this.#now = options.now;
  }

  protected register(signal: AbortSignal): Promise<void> {
    return this.#answer("register", signal).then(() => undefined);
  }

  protected override heartbeat(signal: AbortSignal): Promise<boolean> {
    return this.#answer("heartbeat", signal).then((a) => a !== "lost");
  }

  protected deregister(signal: AbortSignal): Promise<void> {
    return this.#answer("deregister", signal).then(() => undefined);
  }

  #answer(op: "register" | "heartbeat" | "deregister", signal: AbortSignal): Promise<Answer> {
    const answer = this.script[op].shift() ?? "ok";
    this.log.push(`${op}@${this.#now()}${answer === "ok" ? "" : `:${answer}`}`);
    if (answer === "fail") return Promise.reject(new Error(`${op} failed`));
    if (answer === "hang") {
      return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
    }
    return Promise.resolve(answer);
  }
}
