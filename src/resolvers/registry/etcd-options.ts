import type { Clock } from "../../clock.js";
import { InvalidConfigError } from "../../errors.js";
import { Credentials } from "./credentials.js";
import { EtcdClient } from "./etcd-client.js";
import { baseUrls, checkText } from "./options.js";

/** How to reach etcd: what `etcdResolver()` and `etcdRegistrar()` share. */
export interface EtcdConnectionOptions {
  /**
   * The client URLs of etcd's members (its `--advertise-client-urls`), one
   * or several to fail over between: a failed request, or a lost watch,
   * moves to the next. Default `"http://127.0.0.1:2379"`. https verifies
   * the server's certificate (`NODE_EXTRA_CA_CERTS` for a private CA);
   * client certificates need your own `fetch`.
   */
  endpoints?: string | readonly string[];
  /**
   * etcd user (with `password`): when etcd has authentication on, a token
   * is asked from `/v3/auth/authenticate` and sent in `Authorization`,
   * and asked again when etcd says it expired. Neither ever appears in
   * errors or events.
   */
  username?: string;
  /** The password of `username`. */
  password?: string;
}

/** Default of `endpoints`: etcd's own default client URL. */
export const DEFAULT_ETCD_ENDPOINT = "http://127.0.0.1:2379";

/**
 * Validates the connection options and builds the client. The other
 * settings (`timeoutMs`, `maxBodyBytes`, `fetch`, `headers`) are validated
 * by the caller.
 *
 * @throws InvalidConfigError naming `endpoints`, `username`, `password` or `headers`.
 */
export function etcdClient(
  o: Partial<EtcdConnectionOptions> & { headers?: unknown },
  settings: {
    readonly name: string;
    readonly timeoutMs: number;
    readonly maxBodyBytes: number;
    readonly clock: Clock;
    readonly fetch: typeof globalThis.fetch;
  },
): EtcdClient {
  const { urls, userInfo } = baseUrls(o.endpoints, "endpoints", DEFAULT_ETCD_ENDPOINT);
  if (userInfo[0] !== "" || userInfo[1] !== "") {
    throw new InvalidConfigError("endpoints", "must not carry user info: give etcd's username and password as options");
  }
  const username = checkText(o.username, "username");
  const password = o.password;
  if (password !== undefined && (typeof password !== "string" || password === "" || password.length > 512)) {
    throw new InvalidConfigError("password", "must be a non-empty string of at most 512 characters");
  }
  if ((username === undefined) !== (password === undefined)) {
    throw new InvalidConfigError(username === undefined ? "username" : "password", "username and password go together");
  }
  return new EtcdClient({
    ...settings,
    bases: urls,
    credentials: new Credentials(o.headers),
    auth: username === undefined ? undefined : { username, password: password as string },
  });
}
