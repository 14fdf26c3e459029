import { hostname } from "node:os";
import { InvalidConfigError, show } from "../errors.js";
import { checkInteger, checkOptions } from "../options.js";
import { RegistryError } from "../resolvers/registry/error.js";
import type { HttpRegistrarOptions } from "./http-registrar.js";
import {
  checkHost,
  checkPort,
  checkString,
  checkStringMap,
  checkTags,
  HttpRegistrar,
  isAnswer,
  segment,
} from "./http-registrar.js";
import { readStatus } from "./status.js";

/** The status of a Consul check. */
export type ConsulCheckStatus = "passing" | "warning" | "critical";

const STATUSES: readonly ConsulCheckStatus[] = ["passing", "warning", "critical"];
/** Consul's TTL endpoints by the status they set. */
const VERB: Readonly<Record<ConsulCheckStatus, string>> = { passing: "pass", warning: "warn", critical: "fail" };

/** The service instance a `consulRegistrar` registers (the fields of Consul's service definition it sends). */
export interface ConsulServiceDefinition {
  /** The service's name (Consul's `Name`): what discovery asks for. */
  name: string;
  /**
   * This instance's id (Consul's `ID`), unique per agent. Default
   * `"<name>-<address or os.hostname()>-<port>"`: Consul's own default (the
   * name) would make every instance on one agent the same.
   */
  id?: string;
  /**
   * The address clients use (Consul's `Address`). Default none: Consul then
   * gives the agent's node address. Required with several `agents`: the
   * instance must not take the address of whichever agent registered it.
   */
  address?: string;
  /** The port clients use (Consul's `Port`). */
  port: number;
  /** Tags (Consul's `Tags`), e.g. `["v2"]`. */
  tags?: readonly string[];
  /** Metadata (Consul's `Meta`): keys of letters, digits, `_` and `-` (at most 128 characters, not `consul-...`), values of at most 512. */
  meta?: Readonly<Record<string, string>>;
  /** DNS SRV and balancing weights (Consul's `Weights`). Default Consul's `{ passing: 1, warning: 1 }`. */
  weights?: { passing: number; warning?: number };
}

/** Options of `consulRegistrar()`. */
export interface ConsulRegistrarOptions extends HttpRegistrarOptions {
  /**
   * The Consul agent's HTTP API, or several agents to fail over between.
   * Default `"http://127.0.0.1:8500"` (the local agent, where a service
   * belongs). A service lives on the agent that registered it: after a
   * failover the next heartbeat finds it missing at the new agent and
   * registers it there (see docs/registries.md, "Self-registration").
   */
  agents?: string | readonly string[];
  /** The instance to register. */
  service: ConsulServiceDefinition;
  /**
   * The TTL of the instance's check, ms: Consul marks it critical when no
   * heartbeat came for this long. Heartbeats go every `ttlMs / 3`.
   * Default 15,000; at least 1,000.
   */
  ttlMs?: number;
  /**
   * Consul removes the instance once its check has been critical this long
   * (its `DeregisterCriticalServiceAfter`): what cleans up after a process
   * that died without `close()`. At least 60,000 (Consul's minimum; its
   * reaper runs every 30 s). Default none: a dead instance stays listed as
   * critical until someone deregisters it.
   */
  deregisterCriticalAfterMs?: number;
  /** ACL token, sent as `X-Consul-Token` (never in errors or events). */
  token?: string;
  /** Namespace (Consul Enterprise's `ns`). Default the token's or `default`. */
  namespace?: string;
  /**
   * A health callback: the status sent at registration and with each
   * heartbeat (`passing`, `warning` or `critical`: Consul's TTL pass, warn
   * and fail). A callback that throws, rejects or returns anything else
   * counts as `critical`, and its error is emitted. Default always
   * `passing`.
   */
  status?: () => ConsulCheckStatus | Promise<ConsulCheckStatus>;
}

/** Consul's answer to a TTL update for a check it does not have: 404 since 1.11, a 500 before. */
const UNKNOWN_CHECK = /unknown check|does not have associated TTL/i;

/**
 * Self-registration in Consul through an agent's HTTP API, with a TTL check
 * that the registrar keeps passing:
 *
 * - register: `PUT /v1/agent/service/register` with the service and a check
 *   `{ CheckID: "service:<id>", TTL, Status, DeregisterCriticalServiceAfter }`;
 * - heartbeat every `ttlMs / 3`: `PUT /v1/agent/check/pass/service:<id>`
 *   (`warn` or `fail` when the `status` callback says so). A 404 (or the
 *   500 "does not have associated TTL" of older agents) means the agent lost
 *   the instance (restarted without its data, deregistered by its reaper, a
 *   failover to another agent): it is registered again at once;
 * - deregister: `PUT /v1/agent/service/deregister/<id>` at every agent that
 *   took (or may have taken) a registration; a 404 is already gone.
 *
 * The ACL token goes in `X-Consul-Token`. Failures retry with backoff (the
 * `Registrar` base); every request failure is a `RegistryError`.
 */
export class ConsulRegistrar extends HttpRegistrar {
  /** The instance's id in Consul. */
  readonly serviceId: string;
  /** The id of its TTL check: `"service:<id>"`. */
  readonly checkId: string;
  readonly #definition: Readonly<Record<string, unknown>>;
  readonly #check: Readonly<Record<string, unknown>>;
  readonly #query: readonly (readonly [string, string])[];
  readonly #status: ConsulRegistrarOptions["status"];
  /** Indexes of the agents that hold (or may hold) the registration. */
  readonly #holders = new Set<number>();

  constructor(options: ConsulRegistrarOptions) {
    const o = checkOptions<ConsulRegistrarOptions>(options, "consulRegistrar");
    const s = o.service as Partial<ConsulServiceDefinition> | undefined;
    if (s === null || typeof s !== "object" || Array.isArray(s)) {
      throw new InvalidConfigError("service", `must be an object { name, port, ... }, got ${show(s)}`);
    }
    const name = checkString(s.name, "service.name");
    const port = checkPort(s.port, "service.port");
    const address = s.address === undefined ? undefined : checkHost(s.address, "service.address");
    const id = checkString(s.id, "service.id", true) ?? `${name}-${address ?? hostname()}-${port}`;
    const tags = checkTags(s.tags, "service.tags");
    const meta = checkConsulMeta(s.meta);
    const weights = checkWeights(s.weights);
    const ttlMs = checkInteger(o.ttlMs, "ttlMs", 15_000, 1_000, 2 ** 31 - 1);
    const reapMs =
      o.deregisterCriticalAfterMs === undefined
        ? undefined
        : checkInteger(o.deregisterCriticalAfterMs, "deregisterCriticalAfterMs", undefined, 60_000, 2 ** 31 - 1);
    const namespace = checkString(o.namespace, "namespace", true);
    if (o.status !== undefined && typeof o.status !== "function") {
      throw new InvalidConfigError("status", `must be a function returning a check status, got ${show(o.status)}`);
    }
    const several = Array.isArray(o.agents) && o.agents.length > 1;
    if (several && address === undefined) {
      throw new InvalidConfigError(
        "service.address",
        "is required with several agents: without it Consul advertises the address of whichever agent registered the instance",
      );
    }
    super({
      registry: "consul",
      options: o,
      defaultName: `consul:${id}`,
      urls: { option: "agents", value: o.agents, fallback: "http://127.0.0.1:8500" },
      token: { header: "X-Consul-Token", value: o.token },
      heartbeatIntervalMs: ttlMs / 3,
    });
    this.serviceId = id;
    this.checkId = `service:${id}`;
    const definition: Record<string, unknown> = { ID: id, Name: name, Port: port };
    if (address !== undefined) definition.Address = address;
    if (tags !== undefined) definition.Tags = tags;
    if (meta !== undefined) definition.Meta = meta;
    if (weights !== undefined) definition.Weights = weights;
    this.#definition = Object.freeze(definition);
    const check: Record<string, unknown> = { CheckID: this.checkId, TTL: duration(ttlMs) };
    if (reapMs !== undefined) check.DeregisterCriticalServiceAfter = duration(reapMs);
    this.#check = Object.freeze(check);
    this.#query = namespace === undefined ? [] : [["ns", namespace]];
    this.#status = o.status;
  }

  protected async register(signal: AbortSignal): Promise<void> {
    const { status } = await this.#read(signal);
    const at = this.http.current;
    try {
      await this.send(
        {
          method: "PUT",
          path: "v1/agent/service/register",
          query: this.#query,
          json: { ...this.#definition, Check: { ...this.#check, Status: status } },
        },
        signal,
      );
    } catch (error) {
      // The agent may have taken it before the answer was lost: undo it there too at close().
      if (signal.aborted || (error instanceof RegistryError && error.code === "ERR_REGISTRY_TIMEOUT")) {
        this.#holders.add(at);
      }
      throw error;
    }
    this.#holders.add(at);
  }

  protected override async heartbeat(signal: AbortSignal): Promise<boolean> {
    const { status } = await this.#read(signal);
    try {
      await this.send(
        { method: "PUT", path: `v1/agent/check/${VERB[status]}/${segment(this.checkId)}`, query: this.#query },
        signal,
      );
      return true;
    } catch (error) {
      if (isAnswer(error, 404) || isAnswer(error, 500, UNKNOWN_CHECK)) return false;
      throw error;
    }
  }

  protected async deregister(signal: AbortSignal): Promise<void> {
    const path = `v1/agent/service/deregister/${segment(this.serviceId)}`;
    const agents = [...this.#holders];
    const results = await Promise.allSettled(
      agents.map((base) =>
        this.send({ method: "PUT", path, query: this.#query, base }, signal).catch((error: unknown) => {
          if (isAnswer(error, 404)) return; // already gone
          throw error;
        }),
      ),
    );
    this.#holders.clear();
    const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    // Every failure is told; the last one is close()'s (no `deregistered` event).
    for (const failure of failures.slice(0, -1)) this.emit("error", failure as Error);
    if (failures.length > 0) throw failures[failures.length - 1];
  }

  /** The status to send, from the `status` callback; its failure is emitted, and counts as critical. */
  async #read(signal: AbortSignal) {
    const reading = await readStatus(this.#status, STATUSES, "passing", "critical", signal);
    if (reading.error !== undefined) this.emit("error", reading.error);
    return reading;
  }
}

/**
 * Creates a `ConsulRegistrar`: call `start()` to register, `close()` to
 * deregister.
 *
 * @example
 * const registrar = consulRegistrar({
 *   service: { name: "api", address: "10.0.0.5", port: 8080, tags: ["v2"] },
 *   deregisterCriticalAfterMs: 10 * 60_000,
 *   token: process.env.CONSUL_HTTP_TOKEN,
 * });
 * await registrar.start();
 *
 * @throws InvalidConfigError naming the option that is missing or invalid.
 */
export function consulRegistrar(options: ConsulRegistrarOptions): ConsulRegistrar {
  return new ConsulRegistrar(options);
}

/** A Go duration Consul reads: `"15s"`, or `"2500ms"`. */
function duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

const META_KEY = /^[A-Za-z0-9_-]{1,128}$/;

/** Consul's rules for service metadata: at most 64 pairs, keys `[A-Za-z0-9_-]{1,128}` not prefixed `consul-`, values of at most 512 characters. */
function checkConsulMeta(value: unknown): Readonly<Record<string, string>> | undefined {
  const meta = checkStringMap(value, "service.meta");
  if (meta === undefined) return undefined;
  const entries = Object.entries(meta);
  if (entries.length > 64) throw new InvalidConfigError("service.meta", `has ${entries.length} keys; Consul takes 64`);
  for (const [key, v] of entries) {
    if (!META_KEY.test(key) || key.startsWith("consul-")) {
      throw new InvalidConfigError(
        "service.meta",
        `key ${show(key)} is not one Consul takes (letters, digits, _ and -, at most 128, not consul-...)`,
      );
    }
    if (v.length > 512) throw new InvalidConfigError("service.meta", `value of ${show(key)} is over 512 characters`);
  }
  return meta;
}

function checkWeights(value: unknown): { Passing: number; Warning: number } | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidConfigError("service.weights", `must be { passing, warning? }, got ${show(value)}`);
  }
  const w = value as { passing?: unknown; warning?: unknown };
  return {
    Passing: checkInteger(w.passing, "service.weights.passing", undefined, 1, 65535),
    Warning: checkInteger(w.warning, "service.weights.warning", 1, 0, 65535),
  };
}
