/**
 * A real etcd (Debian's `etcd-server`, 3.4) as a child process on 127.0.0.1
 * and two free high ports, with a temporary data dir and the fast election
 * settings of REFERENCE.md (`--heartbeat-interval 10 --election-timeout
 * 100`: ready in about 100 ms), for the etcd system test and bench. Killed
 * and started again on the same data dir, it keeps its keys, revisions and
 * leases. `call()` speaks its JSON gateway for what a test does to it
 * directly (put, delete, compact, revoke).
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/** The etcd binary on PATH (or in /usr/bin, /usr/local/bin), if any. */
export function findEtcd(): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/local/bin"];
  for (const dir of dirs) {
    if (dir === "") continue;
    const candidate = join(dir, "etcd");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** A TCP port free on 127.0.0.1 a moment ago. */
export async function freeTcpPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

export class EtcdProcess {
  /** `http://127.0.0.1:<client port>` */
  readonly url: string;
  #child: ChildProcess | undefined;
  #stderr = "";

  private constructor(
    readonly binary: string,
    readonly dir: string,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly progressIntervalMs: number,
  ) {
    this.url = `http://127.0.0.1:${clientPort}`;
  }

  /** A stopped etcd with a new data dir and two free ports; `progressIntervalMs` is its watch progress notification interval. */
  static async create(binary: string, progressIntervalMs: number): Promise<EtcdProcess> {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-etcd-"));
    const clientPort = await freeTcpPort();
    let peerPort = await freeTcpPort();
    while (peerPort === clientPort) peerPort = await freeTcpPort();
    return new EtcdProcess(binary, dir, clientPort, peerPort, progressIntervalMs);
  }

  /** True while the child runs. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Spawns etcd on the data dir and waits (at most 10 s) until its gateway answers a range. */
  async start(): Promise<void> {
    if (this.#child !== undefined) throw new Error("etcd already running");
    const client = `http://127.0.0.1:${this.clientPort}`;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    this.#stderr = "";
    const child = spawn(
      this.binary,
      [
        "--name",
        "t1",
        "--data-dir",
        join(this.dir, "data"),
        "--listen-client-urls",
        client,
        "--advertise-client-urls",
        client,
        "--listen-peer-urls",
        peer,
        "--initial-advertise-peer-urls",
        peer,
        "--initial-cluster",
        `t1=${peer}`,
        "--logger",
        "zap",
        "--log-level",
        "error",
        "--heartbeat-interval",
        "10",
        "--election-timeout",
        "100",
        "--experimental-watch-progress-notify-interval",
        `${this.progressIntervalMs}ms`,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    child.stderr?.on("data", (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    this.#child = child;
    const deadline = performance.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) {
        this.#child = undefined;
        throw new Error(`etcd exited with ${child.exitCode}: ${this.#stderr}`);
      }
      try {
        await this.call("kv/range", { key: b64("/") });
        return;
      } catch (error) {
        if (performance.now() > deadline) throw new Error(`etcd not answering after 10 s: ${error} ${this.#stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  /** Sends `signal` (default SIGKILL: a crash) and waits for the exit. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill(signal);
    await exited;
  }

  /** Kills etcd and removes its data dir. */
  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** POSTs `body` to `/v3/<path>` and returns the JSON answer; throws on a status other than 200. */
  async call(path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const response = await fetch(`${this.url}/v3/${path}`, {
      method: "POST",
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`etcd ${path}: HTTP ${response.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  }

  /** Puts `value` at `key` (text); returns the new revision. */
  async put(key: string, value: string): Promise<number> {
    const answer = await this.call("kv/put", { key: b64(key), value: b64(value) });
    return Number((answer.header as { revision: string }).revision);
  }

  /** Deletes `key`. */
  async delete(key: string): Promise<void> {
    await this.call("kv/deleterange", { key: b64(key) });
  }

  /** The store's current revision. */
  async revision(): Promise<number> {
    const answer = await this.call("kv/range", { key: b64("/"), count_only: true });
    return Number((answer.header as { revision: string }).revision);
  }

  /** Compacts the history up to `revision` (etcd's `compaction`, physical: waits until done). */
  async compact(revision: number): Promise<void> {
    await this.call("kv/compaction", { revision: String(revision), physical: true });
  }

  /** Revokes lease `id` (its keys are deleted). */
  async revoke(id: string): Promise<void> {
    await this.call("lease/revoke", { ID: id });
  }
}
