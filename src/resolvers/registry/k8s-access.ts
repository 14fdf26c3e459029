import { readFileSync } from "node:fs";
import { join } from "node:path";
import { InvalidConfigError, show } from "../../errors.js";

/** Where a pod's service-account token, cluster CA and namespace are mounted. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The options that say where the Kubernetes API is and how to reach it. */
export interface KubernetesAccessOptions {
  apiServer?: string | readonly string[];
  token?: string;
  tokenFile?: string;
  ca?: string | Uint8Array;
  caFile?: string;
  namespace?: string;
  serviceAccountDir?: string;
}

/** Where the Kubernetes API is and how to reach it, resolved. Internal. */
export interface KubernetesAccess {
  /** The API server's base URL(s). */
  readonly apiServer: string | readonly string[];
  /** The bearer token to send first, if any. */
  readonly token: string | undefined;
  /** A file to read the token from again before each list and watch (rotated tokens). */
  readonly tokenFile: string | undefined;
  /** The CA to verify the API server with, instead of Node's store. */
  readonly ca: string | Uint8Array | undefined;
  readonly namespace: string;
  /** True when the address came from `KUBERNETES_SERVICE_HOST` / `_PORT`. */
  readonly inCluster: boolean;
}

/**
 * Resolves the API server, credentials and namespace of a Kubernetes
 * resolver, as client-go's in-cluster configuration does:
 *
 * - `apiServer` when given (its credentials then come from `token` /
 *   `tokenFile` and `ca` / `caFile` only: a pod's own service-account token
 *   is never sent to an address it was not meant for);
 * - else, in a pod, `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`
 *   with the service account's `token` (read again before each request:
 *   projected tokens rotate) and `ca.crt` from `serviceAccountDir`, unless
 *   `token` / `tokenFile` / `ca` / `caFile` say otherwise;
 * - the namespace: `namespace`, else the service account's `namespace`
 *   file, else `"default"`.
 *
 * Files are read now (synchronously: this runs once, when a resolver is
 * created).
 *
 * @throws InvalidConfigError naming the option: no `apiServer` outside a
 * cluster, a file that cannot be read, both `token` and `tokenFile`, both
 * `ca` and `caFile`, values of the wrong type.
 */
export function kubernetesAccess(o: KubernetesAccessOptions, env: NodeJS.ProcessEnv = process.env): KubernetesAccess {
  const dir = o.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (typeof dir !== "string" || dir === "") {
    throw new InvalidConfigError("serviceAccountDir", `must be a directory path, got ${show(o.serviceAccountDir)}`);
  }
  if (o.token !== undefined && o.tokenFile !== undefined) {
    throw new InvalidConfigError("token", "give token or tokenFile, not both");
  }
  if (o.ca !== undefined && o.caFile !== undefined) {
    throw new InvalidConfigError("ca", "give ca or caFile, not both");
  }
  let apiServer = o.apiServer;
  let inCluster = false;
  if (apiServer === undefined) {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT;
    if (host === undefined || host === "" || port === undefined || !/^\d{1,5}$/.test(port)) {
      throw new InvalidConfigError(
        "apiServer",
        "not given, and not running in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set)",
      );
    }
    apiServer = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
    inCluster = true;
  }
  let token: string | undefined;
  let tokenFile: string | undefined;
  if (o.token !== undefined) {
    if (typeof o.token !== "string") throw new InvalidConfigError("token", `must be a string, got ${show(o.token)}`);
    token = o.token;
  } else if (o.tokenFile !== undefined) {
    tokenFile = checkPath(o.tokenFile, "tokenFile");
    token = readText(tokenFile, "tokenFile");
  } else if (inCluster) {
    const file = join(dir, "token");
    token = readOptional(file);
    if (token !== undefined) tokenFile = file;
  }
  let ca: string | Uint8Array | undefined;
  if (o.ca !== undefined) {
    if (!(typeof o.ca === "string" || o.ca instanceof Uint8Array) || o.ca.length === 0) {
      throw new InvalidConfigError("ca", `must be a PEM certificate (a string or bytes), got ${show(o.ca)}`);
    }
    ca = o.ca;
  } else if (o.caFile !== undefined) {
    ca = readText(checkPath(o.caFile, "caFile"), "caFile");
  } else if (inCluster) {
    ca = readOptional(join(dir, "ca.crt"));
  }
  let namespace = o.namespace;
  if (namespace === undefined) namespace = readOptional(join(dir, "namespace")) ?? "default";
  return { apiServer, token, tokenFile, ca, namespace, inCluster };
}

function checkPath(value: unknown, option: string): string {
  if (typeof value !== "string" || value === "") {
    throw new InvalidConfigError(option, `must be a file path, got ${show(value)}`);
  }
  return value;
}

/** The trimmed content of `file`. @throws InvalidConfigError naming `option` when it cannot be read or is empty. */
function readText(file: string, option: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch (error) {
    throw new InvalidConfigError(option, `cannot read ${file}: ${(error as Error).message}`);
  }
  if (text === "") throw new InvalidConfigError(option, `${file} is empty`);
  return text;
}

/** The trimmed content of `file`, or `undefined` when it is missing, unreadable or empty. */
function readOptional(file: string): string | undefined {
  try {
    const text = readFileSync(file, "utf8").trim();
    return text === "" ? undefined : text;
  } catch {
    return undefined;
  }
}
