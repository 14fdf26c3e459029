import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import type { Clock } from "../../src/index.js";
import { createUpstream } from "../../src/index.js";
import { ManualResolver } from "../../src/testing/index.js";

const run = promisify(execFile);
const fixtures = resolve(import.meta.dirname, "fixtures");

/** Runs a fixture under Node with tsx; resolves with its stdout and exit code. */
async function fixture(name: string): Promise<{ stdout: string; code: number }> {
  try {
    const { stdout } = await run(process.execPath, ["--import", "tsx", resolve(fixtures, name)], {
      cwd: resolve(import.meta.dirname, "../.."),
      timeout: 15_000, // under vitest's 20 s
    });
    return { stdout, code: 0 };
  } catch (e) {
    const failed = e as { stdout: string; code: number };
    return { stdout: failed.stdout, code: failed.code };
  }
}

describe("lifecycle", () => {
  it("an awaited ready() holds the event loop until it settles, even while every other timer is unref'd", async () => {
    const { stdout, code } = await fixture("ready-holds-loop.mts");
    expect(stdout).toMatch(/^rejected ERR_DNS_\w+\n$/);
    expect(code).toBe(0);
  });

  it("ready() asks the clock for a ref'd timer, and only ready() does", async () => {
    const timers: { ms: number; ref: boolean }[] = [];
    const clock: Clock = {
      now: () => 0,
      setTimer(_callback, ms, options) {
        timers.push({ ms, ref: options?.ref === true });
        return { cancel() {} };
      },
    };
    const resolver = new ManualResolver();
    const upstream = createUpstream({ name: "api", resolver, clock, readyTimeoutMs: 1234 });
    const ready = upstream.ready();
    resolver.push(["10.0.0.1:80"]);
    await ready;
    upstream.begin(); // the attempt reaper's timer: unref'd
    expect(timers).toEqual([
      { ms: 1234, ref: true },
      { ms: 60_000, ref: false },
    ]);
    await upstream.close();
  });

  it("a throwing listener changes nothing and masks nothing: its exception surfaces as uncaught", async () => {
    const { stdout, code } = await fixture("throwing-listeners.mts");
    expect(code).toBe(0);
    expect(
      stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { step: 1, picked: "10.0.0.2:80", laterListenerCalls: 1 },
      { step: 2, ready: "rejected manual: registry down", last: "manual: registry down" },
      { step: 3, picked: "10.0.0.3:80" },
      {
        uncaught: ["endpoints listener", "picker listener", "resolver listener", "resolverError listener"],
      },
    ]);
  });

  it("upstreams can share a resolver: closing one leaves the other served; the last one closes it", async () => {
    const resolver = new ManualResolver();
    const v1 = createUpstream({ name: "v1", resolver, filter: { tags: ["v1"] } });
    const v2 = createUpstream({ name: "v2", resolver, filter: { tags: ["v2"] } });
    resolver.push([
      { host: "a", port: 1, tags: ["v1"] },
      { host: "b", port: 1, tags: ["v2"] },
    ]);
    expect([v1.pick().id, v2.pick().id]).toEqual(["a:1", "b:1"]);
    await v1.close();
    expect(resolver.closed).toBe(false);
    resolver.push([
      { host: "a", port: 1, tags: ["v1"] },
      { host: "c", port: 1, tags: ["v2"] },
    ]);
    expect(v2.pick().id).toBe("c:1");
    await v2.close();
    expect(resolver.closed).toBe(true);
    expect(() => createUpstream({ name: "late", resolver })).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_CONFIG", option: "resolver" }),
    );
  });

  it("a second upstream over a resolver that already resolved starts from its set", () => {
    const resolver = new ManualResolver();
    const first = createUpstream({ name: "first", resolver });
    resolver.push(["10.0.0.1:80"]);
    const second = createUpstream({ name: "second", resolver });
    expect(second.pick().id).toBe("10.0.0.1:80");
    expect(resolver.starts).toBe(1);
    void first.close();
    void second.close();
  });
});
