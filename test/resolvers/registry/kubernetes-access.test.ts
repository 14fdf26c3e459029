/**
 * How kubernetesResolver() reaches the API server: in a pod (the
 * `KUBERNETES_SERVICE_HOST` / `_PORT` environment and the service-account
 * files, here in a temporary directory given as `serviceAccountDir`), with
 * the cluster's CA over https (a loopback https server with the throwaway
 * certificate of test/fixtures/registry/, playing the EndpointSlice API of
 * test/helpers/kubernetes-api.ts: no cluster can run on the test machines),
 * a token file that rotates, and credentials kept out of every message.
 * Real sockets on 127.0.0.1; the resolver's time is a ManualClock.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:https";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { KubernetesResolverOptions, RegistryError } from "../../../src/index.js";
import { kubernetesResolver } from "../../../src/index.js";
import { ManualClock, seededRandom } from "../../../src/testing/index.js";
import { activeHandles, expectNoNewHandles, until } from "../../helpers/dns-server.js";
import { endpointSlice, KubernetesApi } from "../../helpers/kubernetes-api.js";

const fixture = (name: string) => new URL(`../../fixtures/registry/${name}`, import.meta.url);
const CERT = fixture("self-signed-cert.pem");
const KEY = fixture("self-signed-key.pem");

let api: KubernetesApi;
let https: Server;
let port: number;
let dir: string;
let clock: ManualClock;
const open: { close(): Promise<void> }[] = [];

beforeEach(async () => {
  api = new KubernetesApi();
  api.set(endpointSlice("api-1", "api", [{ ip: "10.0.0.1" }], { namespace: "shop" }));
  https = createServer({ cert: await readText(CERT), key: await readText(KEY) }, (req, res) =>
    api.handle(req, res, new URL(req.url ?? "/", "https://127.0.0.1")),
  );
  await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
  port = (https.address() as { port: number }).port;
  dir = mkdtempSync(join(tmpdir(), "switchyard-sa-"));
  writeFileSync(join(dir, "token"), "sa-token-1\n");
  writeFileSync(join(dir, "namespace"), "shop");
  writeFileSync(join(dir, "ca.crt"), await readText(CERT));
  clock = new ManualClock();
  vi.stubEnv("KUBERNETES_SERVICE_HOST", "127.0.0.1");
  vi.stubEnv("KUBERNETES_SERVICE_PORT", String(port));
});

afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
  vi.unstubAllEnvs();
  api.close();
  https.closeAllConnections();
  await new Promise<void>((resolve) => https.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** Connections open to the https server now. */
function connections(): Promise<number> {
  return new Promise((resolve, reject) => https.getConnections((error, n) => (error ? reject(error) : resolve(n))));
}

async function readText(url: URL): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  return readFile(url, "utf8");
}

function resolver(options: KubernetesResolverOptions = {}) {
  const r = kubernetesResolver("api", {
    serviceAccountDir: dir,
    clock,
    random: seededRandom(1),
    jitter: 0,
    retries: 0,
    minIntervalMs: 0,
    minListIntervalMs: 0,
    ...options,
  });
  open.push(r);
  const errors: RegistryError[] = [];
  r.on("error", (e) => errors.push(e as RegistryError));
  return { r, errors };
}

describe("kubernetesResolver() in a pod", () => {
  it("uses KUBERNETES_SERVICE_HOST/PORT, the service account's token, namespace and ca.crt (https, verified against that CA)", async () => {
    api.token = "sa-token-1";
    const { r, errors } = resolver();
    expect([r.url, r.namespace, r.name]).toEqual([`https://127.0.0.1:${port}/`, "shop", "kubernetes:shop/api"]);
    r.start();
    await r.whenIdle();
    expect(errors).toEqual([]);
    expect(r.endpoints?.map((e) => e.id)).toEqual(["10.0.0.1:8080"]);
    clock.advance(0);
    await until(() => r.watching);
    api.set(endpointSlice("api-2", "api", [{ ip: "10.0.0.2" }], { namespace: "shop" }));
    await until(() => r.endpoints?.length === 2);
    expect(api.authorizations).toEqual(["Bearer sa-token-1", "Bearer sa-token-1"]);
  });

  it("reads the token file again before each request: a rotated token is used, and old and new are redacted", async () => {
    api.token = "sa-token-1";
    const { r, errors } = resolver();
    r.start();
    await r.whenIdle();
    writeFileSync(join(dir, "token"), "sa-token-2");
    api.token = "sa-token-2";
    await r.refresh();
    expect(errors).toEqual([]);
    expect(api.authorizations).toEqual(["Bearer sa-token-1", "Bearer sa-token-2"]);
    // An API server (or a proxy) that quotes the credentials back: never shown.
    api.token = "something-else";
    const handle = api.handle.bind(api);
    api.handle = (req, res) => {
      res.writeHead(401, { "content-type": "text/plain" });
      res.end(`bad token sa-token-2 (was sa-token-1), header ${req.headers.authorization}`);
    };
    await r.refresh();
    api.handle = handle;
    expect(errors.map((e) => e.message)).toEqual([
      `kubernetes:shop/api: GET https://127.0.0.1:${port}/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dapi: HTTP 401 Unauthorized: bad token <redacted> (was <redacted>), header <redacted>`,
    ]);
  });

  it("without the cluster's CA the API server's certificate is refused (ERR_REGISTRY_CONNECT)", async () => {
    rmSync(join(dir, "ca.crt"));
    const { r, errors } = resolver();
    r.start();
    await r.whenIdle();
    expect(errors.map((e) => e.code)).toEqual(["ERR_REGISTRY_CONNECT"]);
    expect(errors[0]?.message).toContain("self-signed certificate");
  });

  it("ca and caFile options give the CA; an explicit apiServer gets no service-account token", async () => {
    const cert = await readText(CERT);
    const viaCa = resolver({ apiServer: `https://127.0.0.1:${port}`, ca: cert, namespace: "shop" });
    viaCa.r.start();
    await viaCa.r.whenIdle();
    expect(viaCa.errors).toEqual([]);
    const viaFile = resolver({
      apiServer: `https://127.0.0.1:${port}`,
      caFile: join(dir, "ca.crt"),
      tokenFile: join(dir, "token"),
      namespace: "shop",
    });
    viaFile.r.start();
    await viaFile.r.whenIdle();
    expect(viaFile.errors).toEqual([]);
    expect(api.authorizations).toEqual([undefined, "Bearer sa-token-1"]);
  });

  it("outside a pod, no apiServer is an InvalidConfigError naming apiServer; the namespace defaults to default", () => {
    vi.stubEnv("KUBERNETES_SERVICE_HOST", "");
    expect(() => kubernetesResolver("api", { serviceAccountDir: join(dir, "none") })).toThrow(
      "apiServer: not given, and not running in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set)",
    );
    const r = kubernetesResolver("api", { apiServer: "http://127.0.0.1:8001", serviceAccountDir: join(dir, "none") });
    expect(r.namespace).toBe("default");
    void r.close();
  });

  it("close() during a held https watch leaves no timer, socket or handle", async () => {
    const before = await activeHandles();
    const { r } = resolver();
    r.start();
    await r.whenIdle();
    clock.advance(0);
    await until(() => r.watching && api.watching === 1);
    await r.refresh(); // the watch is closed; the list's keep-alive connection goes back to the agent's pool
    expect(await connections()).toBe(1);
    await r.close();
    await until(() => api.watching === 0);
    expect(clock.pendingTimers).toBe(0);
    // The server still runs: a connection the resolver kept (its agent's pool) would still be open.
    for (let i = 0; i < 100 && (await connections()) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await connections()).toBe(0);
    expectNoNewHandles(before, await activeHandles());
  });
});
