import type { Socket } from "node:net";
import { isIPv6 } from "node:net";
import dns2 from "dns2";
import type { Random } from "../../src/index.js";

/** One SRV record as served: RFC 2782 fields. */
export interface SrvAnswer {
  readonly target: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/** A record type the test server serves. */
export type DnsRecordType = "A" | "AAAA" | "SRV";

/** What the test server answers. Names are case-insensitive, without trailing dot. */
export interface DnsZone {
  readonly srv?: Readonly<Record<string, readonly SrvAnswer[]>>;
  readonly a?: Readonly<Record<string, readonly string[]>>;
  readonly aaaa?: Readonly<Record<string, readonly string[]>>;
  /** A response code per name (2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED), overriding records. */
  readonly rcode?: Readonly<Record<string, number>>;
  /**
   * Per name and record type: a response code, or `"silent"` for no answer
   * at all (the client times out), overriding `rcode` and the records:
   * `{ "api.test": { AAAA: "silent" } }` answers A and never AAAA.
   */
  readonly typeRcode?: Readonly<Record<string, Readonly<Partial<Record<DnsRecordType, number | "silent">>>>>;
  /**
   * Answer REFUSED instead of NXDOMAIN or NODATA, as dnsmasq does with
   * `--no-resolv` and no `--local` for the domain: a query for a name it has
   * no record of that type for (AAAA of a name with only A) is refused.
   */
  readonly refuseUnknown?: boolean;
  /** TTL of every record, seconds. Default 30. */
  readonly ttl?: number;
}

/** Server-side counters, to prove which transport carried an answer. */
export interface DnsQueryCounts {
  udp: number;
  tcp: number;
  /** UDP answers sent truncated (TC bit) because they exceeded the UDP payload size. */
  truncated: number;
}

const TYPE_A = 1;
const TYPE_SRV = 33;
const TYPE_AAAA = 28;
const TYPE_OPT = 41;
const CLASS_IN = 1;
const TYPE_NAMES: Readonly<Record<number, DnsRecordType>> = { [TYPE_A]: "A", [TYPE_AAAA]: "AAAA", [TYPE_SRV]: "SRV" };

/**
 * An in-process DNS server on 127.0.0.1, UDP and TCP on one port (as a real
 * server: an answer over 512 bytes goes out truncated over UDP and Node
 * retries it over TCP). dns2 carries the sockets, framing and request
 * parsing; answers are encoded here because RFC 2782 forbids compressing the
 * SRV target, and c-ares rejects dns2's compressed answers past ~16 KiB.
 */
export class TestDnsServer {
  /** The zone served; replace it to change the answers. */
  zone: DnsZone;
  /** When true, queries get no answer at all (the client times out). */
  silent = false;
  /** When set, answer records are shuffled with it on every query (as dnsmasq varies order). */
  shuffle: Random | undefined;
  /** Queries seen per transport. */
  readonly queries: DnsQueryCounts = { udp: 0, tcp: 0, truncated: 0 };
  #udp: ReturnType<typeof dns2.createUDPServer>;
  readonly #tcp: ReturnType<typeof dns2.createTCPServer>;
  readonly #sockets = new Set<Socket>();
  #port = 0;

  constructor(zone: DnsZone) {
    this.zone = zone;
    this.#udp = this.#createUdp();
    this.#tcp = dns2.createTCPServer((request, send) => {
      this.queries.tcp++;
      if (this.silent) return;
      const answer = this.#answer(request);
      if (answer !== undefined) send(answer as never);
    });
    this.#tcp.on("connection", (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
      socket.on("error", () => {});
    });
    this.#tcp.on("requestError", () => {});
  }

  #createUdp(): ReturnType<typeof dns2.createUDPServer> {
    const udp = dns2.createUDPServer((request, send) => {
      this.queries.udp++;
      if (this.silent) return;
      const payload = udpPayloadSize(request);
      let answer = this.#answer(request);
      if (answer === undefined) return;
      if (answer.length > payload) {
        this.queries.truncated++;
        answer = encodeMessage(request, 0, [], true);
      }
      send(answer as never).catch(() => {});
    });
    udp.on("requestError", () => {});
    return udp;
  }

  /** The port both transports listen on. */
  get port(): number {
    return this.#port;
  }

  /** `"127.0.0.1:<port>"`, for the `servers` option. */
  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  /** Binds UDP on a free port, then TCP on the same port (retrying on a clash). */
  async listen(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await this.#udp.listen(0, "127.0.0.1");
      const port = this.#udp.address().port;
      try {
        await new Promise<void>((resolve, reject) => {
          this.#tcp.once("error", reject);
          this.#tcp.listen(port, "127.0.0.1", () => {
            this.#tcp.off("error", reject);
            resolve();
          });
        });
        this.#port = port;
        return;
      } catch (error) {
        await new Promise<void>((resolve) => this.#udp.close(() => resolve()));
        if (attempt >= 10) throw error;
        this.#udp = this.#createUdp();
      }
    }
  }

  /** Closes both sockets and every TCP connection; leaves no handle. */
  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.#udp.close(() => resolve())),
      new Promise<void>((resolve) => this.#tcp.close(() => resolve())),
    ]);
    // dgram calls back before libuv has released the handle: give it two turns.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** The answer to `request`, or undefined for none (silence). */
  #answer(request: dns2.Packet): Buffer | undefined {
    const question = request.questions[0];
    if (question === undefined) return encodeMessage(request, 1, [], false);
    const name = question.name.toLowerCase().replace(/\.$/, "");
    const zone = this.zone;
    const type = TYPE_NAMES[question.type];
    const byType = type === undefined ? undefined : zone.typeRcode?.[name]?.[type];
    if (byType === "silent") return undefined;
    if (byType !== undefined) return encodeMessage(request, byType, [], false);
    const rcode = zone.rcode?.[name];
    if (rcode !== undefined) return encodeMessage(request, rcode, [], false);
    const ttl = zone.ttl ?? 30;
    const srv = zone.srv?.[name];
    const a = zone.a?.[name];
    const aaaa = zone.aaaa?.[name];
    if (zone.refuseUnknown === true) {
      const has = { A: a, AAAA: aaaa, SRV: srv }[type ?? "SRV"];
      if (type === undefined || has === undefined) return encodeMessage(request, 5, [], false);
    }
    if (srv === undefined && a === undefined && aaaa === undefined) return encodeMessage(request, 3, [], false);
    let records: Buffer[] = [];
    if (question.type === TYPE_SRV && srv !== undefined) records = srv.map((r) => srvRecord(r, ttl));
    if (question.type === TYPE_A && a !== undefined) records = a.map((ip) => addressRecord(TYPE_A, ip, ttl));
    if (question.type === TYPE_AAAA && aaaa !== undefined)
      records = aaaa.map((ip) => addressRecord(TYPE_AAAA, ip, ttl));
    if (this.shuffle !== undefined) shuffleInPlace(records, this.shuffle);
    return encodeMessage(request, 0, records, false);
  }
}

/** Starts a `TestDnsServer` serving `zone` on 127.0.0.1. */
export async function startDnsServer(zone: DnsZone = {}): Promise<TestDnsServer> {
  const server = new TestDnsServer(zone);
  await server.listen();
  return server;
}

/** RFC 6891: the requestor's EDNS payload size, or 512 without EDNS. */
function udpPayloadSize(request: dns2.Packet): number {
  const opt = request.additionals.find((r) => r.type === TYPE_OPT) as { class?: number } | undefined;
  return Math.max(512, opt?.class ?? 0);
}

function encodeName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of name.split(".").filter((l) => l !== "")) {
    const bytes = Buffer.from(label, "ascii");
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** Header + question + answers; owner names point at the question (offset 12). */
function encodeMessage(request: dns2.Packet, rcode: number, answers: readonly Buffer[], truncated: boolean): Buffer {
  const header = Buffer.alloc(12);
  const q = request.questions[0];
  header.writeUInt16BE(request.header.id, 0);
  // QR, opcode, AA, TC, RD | RA, rcode
  const flags =
    0x8000 |
    ((request.header.opcode & 0xf) << 11) |
    0x0400 |
    (truncated ? 0x0200 : 0) |
    (request.header.rd ? 0x0100 : 0) |
    0x0080 |
    (rcode & 0xf);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(q === undefined ? 0 : 1, 4);
  header.writeUInt16BE(answers.length, 6);
  if (q === undefined) return header;
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(q.type, 0);
  tail.writeUInt16BE(q.class, 2);
  return Buffer.concat([header, encodeName(q.name), tail, ...answers]);
}

function recordHeader(type: number, ttl: number, rdlength: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(0xc00c, 0);
  b.writeUInt16BE(type, 2);
  b.writeUInt16BE(CLASS_IN, 4);
  b.writeUInt32BE(ttl, 6);
  b.writeUInt16BE(rdlength, 10);
  return b;
}

function srvRecord(r: SrvAnswer, ttl: number): Buffer {
  const target = r.target === "." ? Buffer.from([0]) : encodeName(r.target);
  const fixed = Buffer.alloc(6);
  fixed.writeUInt16BE(r.priority, 0);
  fixed.writeUInt16BE(r.weight, 2);
  fixed.writeUInt16BE(r.port, 4);
  return Buffer.concat([recordHeader(TYPE_SRV, ttl, 6 + target.length), fixed, target]);
}

function addressRecord(type: number, ip: string, ttl: number): Buffer {
  const rdata = type === TYPE_A ? Buffer.from(ip.split(".").map(Number)) : ipv6Bytes(ip);
  return Buffer.concat([recordHeader(type, ttl, rdata.length), rdata]);
}

function ipv6Bytes(ip: string): Buffer {
  if (!isIPv6(ip)) throw new Error(`not an IPv6 address: ${ip}`);
  const [head = "", tail = ""] = ip.split("::");
  const h = head === "" ? [] : head.split(":");
  const t = ip.includes("::") ? (tail === "" ? [] : tail.split(":")) : [];
  const groups = ip.includes("::") ? [...h, ...new Array<string>(8 - h.length - t.length).fill("0"), ...t] : h;
  const out = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  return out;
}

function shuffleInPlace<T>(items: T[], random: Random): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}

/** Polls `condition` once per event-loop turn until it holds; fails after `timeoutMs` of real time. */
export async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${condition}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Sockets and timers alive in this process (`process.getActiveResourcesInfo()`),
 * counted by kind, after letting pending closes finish. Compare with
 * `expectNoNewHandles`: the test runner's own timers may come and go.
 */
export async function activeHandles(): Promise<Record<string, number>> {
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind === "TTYWrap" || kind === "PipeWrap" || kind === "FSReqCallback") continue;
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

/** Throws when `after` holds more handles of some kind than `before`. */
export function expectNoNewHandles(before: Record<string, number>, after: Record<string, number>): void {
  const extra = Object.entries(after).filter(([kind, n]) => n > (before[kind] ?? 0));
  if (extra.length > 0) {
    throw new Error(
      `handles left open: ${JSON.stringify(Object.fromEntries(extra))} (before: ${JSON.stringify(before)})`,
    );
  }
}
