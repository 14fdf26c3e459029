import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { closeOnSignals, InvalidConfigError } from "../../src/index.js";

const fixture = resolve(import.meta.dirname, "fixtures/shutdown-child.mts");

/**
 * Starts the fixture; sends `signals[k]` when its output first contains `after[k]` (default "ready"), and resolves
 * with its output and exit code.
 */
function runChild(
  env: Record<string, string>,
  signals: NodeJS.Signals[],
  after: string[] = signals.map(() => "ready"),
): Promise<{ out: string; code: number | null }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", fixture], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    let sent = 0;
    const guard = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      while (sent < signals.length && out.includes(after[sent] as string)) child.kill(signals[sent++]);
    });
    child.on("error", fail);
    child.on("exit", (code) => {
      clearTimeout(guard);
      done({ out, code });
    });
  });
}

describe("closeOnSignals()", () => {
  it("on SIGTERM, deregisters and exits 0", async () => {
    const { out, code } = await runChild({ DEREGISTER_MS: "50" }, ["SIGTERM"]);
    expect(out).toBe("ready\nderegistering\nderegistered\n");
    expect(code).toBe(0);
  });

  it("exits 1 when closing outlasts the deadline", async () => {
    const { out, code } = await runChild({ DEREGISTER_MS: "5000", DEADLINE_MS: "100" }, ["SIGINT"]);
    expect(out).toBe("ready\nderegistering\nerror: closeOnSignals(): closing took over 100 ms; exiting anyway\n");
    expect(code).toBe(1);
  });

  it("a second signal during the shutdown exits at once with 1", async () => {
    // The second signal goes once the shutdown has begun (two signals sent together can arrive as one).
    const { out, code } = await runChild({ DEREGISTER_MS: "5000" }, ["SIGTERM", "SIGTERM"], ["ready", "deregistering"]);
    expect(out).toBe("ready\nderegistering\n"); // neither "deregistered" nor the deadline's error
    expect(code).toBe(1);
  });

  it("the returned function removes the handlers; bad arguments are InvalidConfigError", () => {
    const before = process.listenerCount("SIGTERM");
    const remove = closeOnSignals([{ close: () => {} }], { exit: false });
    expect(process.listenerCount("SIGTERM")).toBe(before + 1);
    remove();
    expect(process.listenerCount("SIGTERM")).toBe(before);
    for (const [closables, options, option] of [
      [[{}], {}, "closables"],
      ["x", {}, "closables"],
      [[], { signals: [] }, "signals"],
      [[], { signals: ["TERM"] }, "signals"],
      [[], { deadlineMs: -1 }, "deadlineMs"],
      [[], { exit: "yes" }, "exit"],
      [[], [], "options"],
    ] as const) {
      let caught: unknown;
      try {
        closeOnSignals(closables as never, options as never);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(InvalidConfigError);
      expect((caught as InvalidConfigError).option).toBe(option);
    }
  });
});
