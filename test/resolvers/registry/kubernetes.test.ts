/**
 * kubernetesResolver() against a loopback HTTP server, not a real cluster
 * (none can run on the test machines): test/helpers/kubernetes-api.ts plays
 * the EndpointSlice API on the registry test server, with objects in the
 * documented shapes (test/fixtures/registry/kubernetes-*.json, and variants
 * built by `endpointSlice()`) and the documented watch semantics: a list
 * with a resourceVersion, a streamed watch replaying and sending events one
 * JSON object per line, bookmarks, 410 Gone (as a status or as an ERROR
 * event), a watch ended by the server, a watch gone silent. Real sockets on
 * 127.0.0.1; the resolver's time is a ManualClock.
 */
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Endpoint, KubernetesResolverOptions, RegistryError } from "../../../src/index.js";
import { createUpstream, KubernetesResolver, kubernetesResolver } from "../../../src/index.js";
import { ManualClock, seededRandom } from "../../../src/testing/index.js";
import { expectConfigErrors } from "../../helpers/config-errors.js";
import { activeHandles, expectNoNewHandles, until } from "../../helpers/dns-server.js";
import { endpointSlice, KubernetesApi } from "../../helpers/kubernetes-api.js";
import { closedPort, RegistryServer } from "../../helpers/registry-server.js";

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/registry/${name}`, import.meta.url), "utf8");
const LIST = JSON.parse(fixture("kubernetes-endpointslice-list.json")) as { items: Record<string, unknown>[] };
const WATCH = fixture("kubernetes-watch.jsonl");
const PATH = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices";

let server: RegistryServer;
let api: KubernetesApi;
let clock: ManualClock;
const open: KubernetesResolver[] = [];

beforeEach(async () => {
  server = await RegistryServer.start();
  api = new KubernetesApi().install(server);
  clock = new ManualClock();
  api.set(
    endpointSlice("api-1", "api", [
      { ip: "10.0.0.1", zone: "zone-a", node: "node-1", pod: "api-7d9f-1" },
      { ip: "10.0.0.2", zone: "zone-b", node: "node-2", pod: "api-7d9f-2" },
    ]),
  );
});

afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
  api.close();
  await server.close();
});

function resolver(service = "api", options: KubernetesResolverOptions = {}): KubernetesResolver {
  const r = kubernetesResolver(service, {
    apiServer: server.url,
    clock,
    random: seededRandom(1),
    jitter: 0,
    retries: 0,
    minIntervalMs: 0,
    minListIntervalMs: 0,
    ...options,
  });
  open.push(r);
  return r;
}

function record(r: KubernetesResolver) {
  const sets: string[][] = [];
  const deltas: (string | undefined)[] = [];
  const errors: RegistryError[] = [];
  r.on("endpoints", (e, delta) => {
    sets.push(e.map((x) => x.id));
    deltas.push(delta && `+${delta.upserts.map((x) => x.id).join(",")} -${delta.removals.join(",")}`);
  });
  r.on("error", (e) => errors.push(e as RegistryError));
  return { sets, deltas, errors };
}

const ids = (endpoints: readonly Endpoint[] | undefined) => endpoints?.map((e) => e.id);

/** Starts `r`, waits for its list, and lets it open its watch (`watches`: the ones the API then holds). */
async function watching(r: KubernetesResolver, watches = 1): Promise<void> {
  r.start();
  await r.whenIdle();
  clock.advance(0);
  await until(() => r.watching && api.watching === watches);
}

/** Fires the refresh loop's 0 ms timers (the next step of a watch) until `condition` holds. */
async function pump(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) {
    clock.advance(0);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  expect(condition()).toBe(true);
}

describe("kubernetesResolver()", () => {
  it("maps the documented EndpointSlice: addresses[0], the named port, zone, labels, nodeName and hostname", async () => {
    server.routes.set(PATH, (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(LIST));
    });
    const r = resolver("example", { port: "http", token: "sa-token-123" });
    r.start();
    await r.whenIdle();
    expect(r.endpoints).toEqual([
      {
        id: "10.1.2.3:80",
        host: "10.1.2.3",
        port: 80,
        weight: 100,
        priority: 0,
        scheme: "http",
        zone: "us-west2-a",
        tags: [],
        metadata: { "kubernetes.io/service-name": "example", nodeName: "node-1", hostname: "pod-1" },
      },
    ]);
    expect(r.resourceVersion).toBe("10245");
    expect([r.name, r.service, r.namespace, r.registry, r.slices]).toEqual([
      "kubernetes:default/example",
      "example",
      "default",
      "kubernetes",
      1,
    ]);
    const req = server.requests[0];
    expect(req?.path).toBe(PATH);
    expect([...(req?.query.entries() ?? [])]).toEqual([["labelSelector", "kubernetes.io/service-name=example"]]);
    expect(req?.headers.authorization).toBe("Bearer sa-token-123");
    expect(req?.headers.accept).toBe("application/json");
  });

  it("lists, then watches from the list's resourceVersion with bookmarks; events replace, add and remove slices", async () => {
    const r = resolver();
    const seen = record(r);
    await watching(r);
    expect(seen.sets).toEqual([["10.0.0.1:8080", "10.0.0.2:8080"]]);
    const watch = server.requests[1];
    expect([...(watch?.query.entries() ?? [])]).toEqual([
      ["labelSelector", "kubernetes.io/service-name=api"],
      ["watch", "1"],
      ["resourceVersion", "1001"],
      ["allowWatchBookmarks", "true"],
      ["timeoutSeconds", "300"],
    ]);
    api.set(endpointSlice("api-2", "api", [{ ip: "10.0.0.3" }])); // ADDED
    await until(() => seen.sets.length === 2);
    expect(seen.sets[1]).toEqual(["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"]);
    clock.advance(0);
    api.set(endpointSlice("api-1", "api", [{ ip: "10.0.0.1" }])); // MODIFIED: 10.0.0.2 left
    await until(() => seen.sets.length === 3);
    expect(seen.sets[2]).toEqual(["10.0.0.1:8080", "10.0.0.3:8080"]);
    clock.advance(0);
    api.delete("api-2"); // DELETED
    await until(() => seen.sets.length === 4);
    expect(seen.sets[3]).toEqual(["10.0.0.1:8080"]);
    // The list is published whole; each watch event as what it changed (applied by upstreams in O(changed)).
    // (10.0.0.1 is an upsert too: the recorded list gave it fields the MODIFIED slice does not.)
    expect(seen.deltas).toEqual([undefined, "+10.0.0.3:8080 -", "+10.0.0.1:8080 -10.0.0.2:8080", "+ -10.0.0.3:8080"]);
    expect(r.resourceVersion).toBe(String(api.resourceVersion));
    expect(seen.errors).toEqual([]);
    expect([api.lists, api.watches]).toEqual([1, 1]);
  });

  it("replays the documented watch events: ADDED, MODIFIED (terminating), BOOKMARK, DELETED, then ERROR 410 lists again", async () => {
    let listed = 0;
    let stream: import("node:http").ServerResponse | undefined;
    server.routes.set(PATH, (_req, res, url) => {
      res.writeHead(200, { "content-type": "application/json" });
      if (url.searchParams.get("watch") !== "1") {
        listed++;
        res.end(JSON.stringify(LIST));
        return;
      }
      res.flushHeaders();
      stream = res;
    });
    const lines = WATCH.split("\n").filter((l) => l !== "");
    const r = resolver("example");
    const seen = record(r);
    const resolved: boolean[] = [];
    r.on("resolved", (_s, changed) => resolved.push(changed));
    await watching(r, 0);
    const send = (i: number) => stream?.write(`${lines[i]}\n`);
    send(0); // ADDED example-def
    await until(() => seen.sets.length === 2);
    clock.advance(0);
    send(1); // MODIFIED example-abc: its endpoint terminating, not ready
    await until(() => seen.sets.length === 3);
    clock.advance(0);
    send(2); // BOOKMARK
    await until(() => r.resourceVersion === "12746");
    send(3); // DELETED example-abc: it no longer counted, nothing changes
    await until(() => r.resourceVersion === "12801");
    send(4); // ERROR 410 Expired
    await until(() => listed === 2);
    await r.whenIdle();
    expect(seen.sets).toEqual([
      ["10.1.2.3:80"],
      ["10.1.2.3:80", "10.1.2.4:80"],
      ["10.1.2.4:80"],
      ["10.1.2.3:80"], // listed again
    ]);
    expect(resolved).toEqual([true, true, true, true]); // the BOOKMARK and the DELETED published nothing
    expect(seen.errors).toEqual([]); // a 410 is routine: listed again, nothing to report
    expect(r.resourceVersion).toBe("10245");
  });

  it("merges slices: an endpoint listed by two slices is one endpoint, and moving between slices publishes nothing", async () => {
    const r = resolver();
    const seen = record(r);
    await watching(r);
    api.set(endpointSlice("api-2", "api", [{ ip: "10.0.0.2", zone: "zone-b", node: "node-2", pod: "api-7d9f-2" }]));
    await new Promise((resolve) => setTimeout(resolve, 30));
    clock.advance(0);
    api.set(endpointSlice("api-1", "api", [{ ip: "10.0.0.1", zone: "zone-a", node: "node-1", pod: "api-7d9f-1" }]));
    await new Promise((resolve) => setTimeout(resolve, 30));
    clock.advance(0);
    api.set(endpointSlice("api-3", "api", [{ ip: "10.0.0.9" }]));
    await until(() => seen.sets.length === 2);
    expect(seen.sets).toEqual([
      ["10.0.0.1:8080", "10.0.0.2:8080"],
      ["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.9:8080"],
    ]);
    expect(r.slices).toBe(3);
    expect(seen.errors).toEqual([]); // a duplicate across slices is normal, not reported
  });

  it("a MODIFIED slice keeps the endpoint objects of the endpoints it lists unchanged; a re-list of the same slices publishes nothing", async () => {
    const pods = (third: string) =>
      [1, 2, 3].map((n) => ({ ip: n === 3 ? third : `10.0.5.${n}`, zone: "z1", node: `n${n}`, pod: `api-${n}` }));
    api.set(endpointSlice("api-5", "api", pods("10.0.5.3")));
    const r = resolver();
    const seen = record(r);
    await watching(r);
    const before = new Map((r.endpoints ?? []).map((e) => [e.id, e]));
    api.set(endpointSlice("api-5", "api", pods("10.0.5.9"))); // MODIFIED: api-3 moved to another address
    await until(() => seen.sets.length === 2);
    expect(seen.deltas[1]).toBe("+10.0.5.9:8080 -10.0.5.3:8080");
    const after = r.endpoints ?? [];
    expect(after.filter((e) => before.get(e.id) === e).map((e) => e.id)).toEqual([
      "10.0.0.1:8080",
      "10.0.0.2:8080",
      "10.0.5.1:8080",
      "10.0.5.2:8080",
    ]);
    void r.refresh(); // lists again: the same slices
    await until(() => api.lists === 2);
    await r.whenIdle();
    expect((r.endpoints ?? []).every((e, i) => e === after[i])).toBe(true);
    expect(seen.sets).toHaveLength(2);
  });

  it("a burst of events in one chunk is applied together: one publish", async () => {
    const r = resolver();
    const seen = record(r);
    await watching(r);
    api.setAll([
      endpointSlice("api-2", "api", [{ ip: "10.0.0.3" }]),
      endpointSlice("api-3", "api", [{ ip: "10.0.0.4" }]),
      endpointSlice("api-1", "api", [{ ip: "10.0.0.1" }]),
    ]);
    await until(() => seen.sets.length === 2);
    await r.whenIdle();
    expect(seen.sets[1]).toEqual(["10.0.0.1:8080", "10.0.0.3:8080", "10.0.0.4:8080"]);
  });

  it("reads events split across chunks, and blank lines", async () => {
    const r = resolver();
    const seen = record(r);
    await watching(r);
    const line = JSON.stringify({ type: "ADDED", object: endpointSlice("api-2", "api", [{ ip: "10.0.0.5" }]) });
    api.raw("\n");
    api.raw(line.slice(0, 50));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen.sets).toHaveLength(1);
    api.raw(`${line.slice(50)}\r\n`);
    await until(() => seen.sets.length === 2);
    expect(seen.sets[1]).toEqual(["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.5:8080"]);
  });

  it("conditions: ready by default (missing means ready); condition: serving takes serving endpoints that are not terminating", async () => {
    api.set(
      endpointSlice("api-1", "api", [
        { ip: "10.0.0.1" },
        { ip: "10.0.0.2", ready: true, serving: true, terminating: false },
        { ip: "10.0.0.3", ready: false, serving: true, terminating: false }, // serving, not ready (publishNotReadyAddresses off)
        { ip: "10.0.0.4", ready: false, serving: true, terminating: true },
        { ip: "10.0.0.5", ready: false, serving: false },
        { ip: "10.0.0.6", ready: null, serving: null },
      ]),
    );
    const ready = resolver();
    ready.start();
    await ready.whenIdle();
    expect(ids(ready.endpoints)).toEqual(["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.6:8080"]);
    const serving = resolver("api", { condition: "serving" });
    serving.start();
    await serving.whenIdle();
    expect(ids(serving.endpoints)).toEqual(["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080", "10.0.0.6:8080"]);
  });

  it("port: by name, by number, or the only TCP port; a slice without the port is dropped whole, with its reason", async () => {
    const ports = [
      { name: "http", protocol: "TCP", port: 8080 },
      { name: "grpc", protocol: "TCP", port: 9090 },
      { name: "dns", protocol: "UDP", port: 53 },
    ];
    api.set(endpointSlice("api-1", "api", [{ ip: "10.0.0.1" }], { ports }));
    api.set(endpointSlice("api-2", "api", [{ ip: "10.0.0.2" }], { ports: [{ name: "http", port: 8081 }] }));
    const grpc = resolver("api", { port: "grpc" });
    const seen = record(grpc);
    grpc.start();
    await grpc.whenIdle();
    expect(ids(grpc.endpoints)).toEqual(["10.0.0.1:9090"]);
    expect(seen.errors.map((e) => e.code)).toEqual(["ERR_REGISTRY_INVALID_INSTANCE"]);
    expect(grpc.droppedRecords).toEqual([
      { record: 'EndpointSlice "api-2"', reason: 'no TCP port named "grpc" (its TCP ports: "http" 8081)' },
    ]);
    const byNumber = resolver("api", { port: 7000 });
    byNumber.start();
    await byNumber.whenIdle();
    expect(ids(byNumber.endpoints)).toEqual(["10.0.0.1:7000", "10.0.0.2:7000"]);
    const only = resolver();
    only.start();
    await only.whenIdle();
    expect(ids(only.endpoints)).toEqual(["10.0.0.2:8081"]);
    expect(only.droppedRecords).toEqual([
      {
        record: 'EndpointSlice "api-1"',
        reason: 'several TCP ports ("http" 8080, "grpc" 9090): name one with the port option',
      },
    ]);
    const dns = resolver("api", { port: "dns" });
    dns.start();
    await dns.whenIdle();
    expect(dns.endpoints).toBeUndefined(); // UDP ports are not used: every endpoint dropped, the refresh failed
  });

  it("address families: IPv4 when the service has IPv4 slices (dual stack counts a pod once), else IPv6; FQDN slices ignored", async () => {
    api.set(endpointSlice("api-v6", "api", [{ ip: "fd00::1" }, { ip: "fd00::2" }], { addressType: "IPv6" }));
    api.set(endpointSlice("api-fqdn", "api", [{ ip: "api.example.test" }], { addressType: "FQDN" }));
    const auto = resolver();
    const seen = record(auto);
    await watching(auto);
    expect(ids(auto.endpoints)).toEqual(["10.0.0.1:8080", "10.0.0.2:8080"]);
    api.delete("api-1"); // the IPv4 slice goes: IPv6 takes over
    await until(() => seen.sets.length === 2);
    expect(seen.sets[1]).toEqual(["[fd00::1]:8080", "[fd00::2]:8080"]);
    const v6 = resolver("api", { addressType: "IPv6" });
    v6.start();
    await v6.whenIdle();
    expect(ids(v6.endpoints)).toEqual(["[fd00::1]:8080", "[fd00::2]:8080"]);
    expect(seen.errors).toEqual([]);
  });

  it("bookmarks move the resourceVersion and keep the watch alive; a watch the server ends is resumed from there without a list", async () => {
    const r = resolver("api", { bookmarkIntervalMs: 1_000, stallFactor: 2, minIntervalMs: 500 });
    const seen = record(r);
    await watching(r);
    for (let i = 0; i < 5; i++) {
      clock.advance(1_900);
      api.set(endpointSlice(`other-${i}`, "other", [{ ip: "10.9.9.9" }])); // another service: not sent to this watch
      api.bookmark();
      await until(() => r.resourceVersion === String(api.resourceVersion));
    }
    expect(seen.errors).toEqual([]);
    api.endWatches(); // the server's timeoutSeconds: resumed at once from the last resourceVersion
    await until(() => api.watching === 1);
    const resumedFrom = api.resourceVersion;
    api.endWatches(); // again, at once: the next watch waits until minIntervalMs after this one began
    await until(() => !r.watching);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(api.watches).toBe(2);
    clock.advance(499);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(api.watches).toBe(2);
    clock.advance(1);
    await until(() => api.watching === 1);
    expect(api.calls).toEqual(["list", "watch 1001", `watch ${resumedFrom}`, `watch ${resumedFrom}`]);
    expect(seen.sets).toHaveLength(1);
  });

  it("410 Gone as the watch's status lists again, then watches from the new resourceVersion", async () => {
    const r = resolver();
    const seen = record(r);
    await watching(r);
    api.goneAs = "status";
    api.compactedTo = api.resourceVersion + 10;
    api.set(endpointSlice("api-2", "api", [{ ip: "10.0.0.3" }]));
    api.endWatches();
    await pump(() => api.lists === 2 && seen.sets.length === 2);
    expect(seen.sets[1]).toEqual(["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"]);
    api.compactedTo = 0;
    await pump(() => api.watching === 1);
    expect(api.calls).toEqual(["list", "watch 1001", "watch 1002", "list", "watch 1002"]);
    expect(seen.errors).toEqual([]);
  });

  it("re-lists are rate-limited: a second 410 within minListIntervalMs waits for it", async () => {
    const r = resolver("api", { minListIntervalMs: 5_000 });
    await watching(r);
    clock.advance(5_000);
    api.compactedTo = Number.MAX_SAFE_INTEGER; // every watch from now on is Gone
    api.error(410, "Expired", "too old resource version");
    await until(() => api.lists === 2); // at once: the last list began 5 s ago
    await pump(() => api.watches === 2); // from the new list: Gone again
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(api.lists).toBe(2); // waiting: the last list began at 5,000 ms
    clock.advance(4_999);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(api.lists).toBe(2);
    clock.advance(1);
    await until(() => api.lists === 3);
    expect(api.calls).toEqual(["list", "watch 1001", "list", "watch 1001", "list"]);
  });

  it("a watch gone silent is torn down at stallFactor × bookmarkIntervalMs, reported at once, and the service listed again", async () => {
    const r = resolver("api", { bookmarkIntervalMs: 60_000, stallFactor: 2 });
    const seen = record(r);
    await watching(r);
    api.muted = true; // the connection stays open, nothing more comes (a half-open connection, a buffering proxy)
    api.set(endpointSlice("api-2", "api", [{ ip: "10.0.0.3" }]));
    clock.advance(119_999);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen.errors).toEqual([]);
    expect(seen.sets).toHaveLength(1); // the last good set stays
    clock.advance(1);
    await until(() => seen.errors.length === 1);
    const stall = seen.errors[0] as RegistryError;
    expect(stall.code).toBe("ERR_REGISTRY_STALLED");
    expect(stall.message).toBe(
      `kubernetes:default/api: GET ${server.url}${PATH}?labelSelector=kubernetes.io%2Fservice-name%3Dapi&watch=1&resourceVersion=1001&allowWatchBookmarks=true&timeoutSeconds=300: no event and no bookmark for 120000 ms (2 × the 60000 ms between bookmarks); listing again`,
    );
    await until(() => api.lists === 2 && seen.sets.length === 2);
    expect(seen.sets[1]).toEqual(["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"]);
    api.muted = false;
    clock.advance(0);
    await until(() => api.watching === 1); // the silent watch's connection is closed, a new one open
    expect(seen.errors).toHaveLength(1);
  });

  it("a watch whose headers never come stalls the same way", async () => {
    const r = resolver("api", { bookmarkIntervalMs: 1_000, stallFactor: 2, retries: 1 });
    const seen = record(r);
    r.start();
    await r.whenIdle();
    server.faults.push({ hang: true });
    clock.advance(0);
    await until(() => server.held === 1);
    clock.advance(2_000);
    await until(() => seen.errors.length === 1 && api.lists === 2);
    expect(seen.errors[0]?.code).toBe("ERR_REGISTRY_STALLED");
    await until(() => server.held === 0);
  });

  it("ERROR events: 5xx resumes the watch after the backoff, without a list; a malformed line lists again at the next refresh", async () => {
    const r = resolver("api", { retries: 1, retryDelayMs: 1_000, intervalMs: 10_000 });
    const seen = record(r);
    await watching(r);
    api.error(500, "InternalError", "etcdserver: request timed out");
    await until(() => seen.errors.length === 0 && api.watching === 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    clock.advance(1_000);
    await until(() => api.watching === 1);
    expect(api.calls).toEqual(["list", "watch 1001", "watch 1001"]);
    api.raw("{not json\n");
    await until(() => seen.errors.length === 1);
    expect(seen.errors[0]?.code).toBe("ERR_REGISTRY_BODY");
    expect(r.endpoints).toHaveLength(2);
    await r.whenIdle();
    clock.advance(10_000);
    await until(() => api.lists === 2);
    expect(api.calls.slice(3)).toEqual(["list"]);
  });

  it("an ERROR event that is not retryable is reported and lists again", async () => {
    const r = resolver("api", { intervalMs: 10_000 });
    const seen = record(r);
    await watching(r);
    api.error(403, "Forbidden", 'endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:default:x"');
    await until(() => seen.errors.length === 1);
    expect([seen.errors[0]?.code, seen.errors[0]?.status]).toEqual(["ERR_REGISTRY_HTTP", 403]);
    expect(seen.errors[0]?.message).toContain(
      "watch ERROR event: 403 Forbidden endpointslices.discovery.k8s.io is forbidden",
    );
    await r.whenIdle();
    clock.advance(10_000);
    await until(() => api.lists === 2);
  });

  it("one watch shared by two upstreams (v1 and v2 by a slice label): closing one never freezes the other", async () => {
    api.delete("api-1");
    api.set(endpointSlice("api-v1", "api", [{ ip: "10.0.1.1" }, { ip: "10.0.1.2" }], { labels: { version: "v1" } }));
    api.set(endpointSlice("api-v2", "api", [{ ip: "10.0.2.1" }], { labels: { version: "v2" } }));
    const shared = resolver();
    const v1 = createUpstream({ name: "api-v1", resolver: shared, filter: { metadata: { version: "v1" } }, clock });
    const v2 = createUpstream({ name: "api-v2", resolver: shared, filter: { metadata: { version: "v2" } }, clock });
    await Promise.all([v1.ready(), v2.ready()]);
    expect([ids(v1.endpoints), ids(v2.endpoints)]).toEqual([["10.0.1.1:8080", "10.0.1.2:8080"], ["10.0.2.1:8080"]]);
    clock.advance(0);
    await until(() => shared.watching && api.watching === 1);
    expect([api.lists, api.watches]).toEqual([1, 1]); // one client, one list, one watch
    await v1.close();
    expect(shared.closed).toBe(false);
    expect(api.watching).toBe(1);
    api.set(endpointSlice("api-v2", "api", [{ ip: "10.0.2.1" }, { ip: "10.0.2.2" }], { labels: { version: "v2" } }));
    await until(() => v2.endpoints.length === 2);
    expect(ids(v2.endpoints)).toEqual(["10.0.2.1:8080", "10.0.2.2:8080"]);
    expect(v1.endpoints.map((e) => e.id)).toEqual(["10.0.1.1:8080", "10.0.1.2:8080"]); // closed: no longer updated, nothing thrown
    await v2.close(); // the last user: the resolver closes and its watch ends
    expect(shared.closed).toBe(true);
    await until(() => api.watching === 0);
    expect(clock.pendingTimers).toBe(0);
  });

  it("refresh() lists again at once, closing the watch", async () => {
    const r = resolver("api", { minListIntervalMs: 60_000 });
    await watching(r);
    await r.refresh();
    expect(api.calls).toEqual(["list", "watch 1001", "list"]);
    await until(() => api.watching === 0);
  });

  it("an empty service once keeps the last good set; a list confirms it before it empties", async () => {
    const r = resolver("api", { confirmEmpty: 1, confirmEmptyDelayMs: 5_000 });
    const seen = record(r);
    await watching(r);
    api.delete("api-1");
    await until(() => seen.errors.length === 1);
    expect(seen.errors[0]?.code).toBe("ERR_REGISTRY_EMPTY");
    expect(r.endpoints).toHaveLength(2);
    await r.whenIdle();
    clock.advance(5_000);
    await until(() => api.lists === 2);
    await r.whenIdle();
    expect(r.endpoints).toEqual([]);
    clock.advance(0);
    await until(() => api.watching === 1);
    api.set(endpointSlice("api-9", "api", [{ ip: "10.0.0.9" }]));
    await until(() => seen.sets.length === 3);
    expect(seen.sets[2]).toEqual(["10.0.0.9:8080"]);
  });

  it("a service with no endpoints yet fails ready(), and the watch brings them when they come", async () => {
    const r = resolver("web");
    const upstream = createUpstream({ name: "web", resolver: r, clock });
    const error = (await upstream.ready().catch((e: unknown) => e)) as RegistryError;
    expect(error.code).toBe("ERR_REGISTRY_EMPTY");
    clock.advance(0);
    await until(() => api.watching === 1);
    api.set(endpointSlice("web-1", "web", [{ ip: "10.0.5.1" }]));
    await until(() => upstream.endpoints.length === 1);
    await upstream.close();
    await until(() => api.watching === 0);
  });

  it("pages a list when the server pages it (continue)", async () => {
    for (let i = 2; i <= 5; i++) api.set(endpointSlice(`api-${i}`, "api", [{ ip: `10.0.1.${i}` }]));
    api.pageSize = 2;
    const r = resolver();
    r.start();
    await r.whenIdle();
    expect(r.endpoints).toHaveLength(6);
    expect(server.requests.map((q) => q.query.get("continue"))).toEqual([null, "2", "4"]);
    expect(r.resourceVersion).toBe(String(api.resourceVersion));
  });

  it("fails over between API servers", async () => {
    const down = `http://127.0.0.1:${await closedPort()}`;
    const r = resolver("api", { apiServer: [down, server.url], retries: 1, retryDelayMs: 0 });
    const seen = record(r);
    await watching(r);
    expect(seen.errors).toEqual([]);
    expect(r.url).toBe(`${server.url}/`);
  });

  it("close() during a held watch ends it: no timer, socket or handle is left", async () => {
    const before = await activeHandles();
    const r = resolver();
    await watching(r);
    await r.close();
    await until(() => api.watching === 0);
    expect(clock.pendingTimers).toBe(0);
    api.close();
    await server.close();
    expectNoNewHandles(before, await activeHandles());
    server = await RegistryServer.start(); // for afterEach
  });

  it("rejects invalid options synchronously with InvalidConfigError", () => {
    vi.stubEnv("KUBERNETES_SERVICE_HOST", ""); // not in a cluster, whatever runs the tests
    const ok = { apiServer: "http://127.0.0.1:6443" };
    const bad: [string, KubernetesResolverOptions, string][] = [
      ["", ok, "service"],
      ["API", ok, "service"],
      ["api,x=y", ok, "service"],
      ["api", 5 as never, "options"],
      ["api", { ...ok, namespace: "Prod" }, "namespace"],
      ["api", { ...ok, port: 0 }, "port"],
      ["api", { ...ok, port: "" }, "port"],
      ["api", { ...ok, condition: "up" as never }, "condition"],
      ["api", { ...ok, addressType: "FQDN" as never }, "addressType"],
      ["api", { ...ok, apiServer: "kube:6443" }, "apiServer"],
      ["api", { ...ok, token: "a b" }, "token"],
      ["api", { ...ok, token: "x", tokenFile: "/x" }, "token"],
      ["api", { ...ok, tokenFile: "/nonexistent/token" }, "tokenFile"],
      ["api", { ...ok, ca: "x", caFile: "/x" }, "ca"],
      ["api", { ...ok, caFile: "/nonexistent/ca.crt" }, "caFile"],
      ["api", { ...ok, ca: 5 as never }, "ca"],
      ["api", { apiServer: "https://127.0.0.1:6443", ca: "pem", fetch: globalThis.fetch }, "fetch"],
      ["api", { ...ok, ca: "pem" }, "ca"],
      ["api", { ...ok, bookmarkIntervalMs: 0 }, "bookmarkIntervalMs"],
      ["api", { ...ok, stallFactor: 1 }, "stallFactor"],
      ["api", { ...ok, watchTimeoutMs: 10 }, "watchTimeoutMs"],
      ["api", { ...ok, minIntervalMs: -1 }, "minIntervalMs"],
      ["api", { ...ok, minListIntervalMs: -1 }, "minListIntervalMs"],
      ["api", { ...ok, serviceAccountDir: "" }, "serviceAccountDir"],
      ["api", { serviceAccountDir: "/nonexistent" }, "apiServer"],
    ];
    expectConfigErrors(
      (service: string, options: KubernetesResolverOptions) => kubernetesResolver(service, options),
      bad,
    );
    const r = kubernetesResolver("api", ok);
    expect(r).toBeInstanceOf(KubernetesResolver);
    expect([r.url, r.namespace]).toEqual(["http://127.0.0.1:6443/", "default"]);
    vi.unstubAllEnvs();
  });
});
