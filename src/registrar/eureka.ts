import { InvalidConfigError, show } from "../errors.js";
import { checkInteger, checkOptions } from "../options.js";
import type { EurekaInstance, EurekaInstanceDefinition, EurekaStatus } from "./eureka-instance.js";
import { checkEurekaInstance, EUREKA_STATUSES, eurekaInstanceDocument } from "./eureka-instance.js";
import type { HttpRegistrarOptions } from "./http-registrar.js";
import { checkPathName, HttpRegistrar, isAnswer, segment } from "./http-registrar.js";
import { readStatus } from "./status.js";

/** Options of `eurekaRegistrar()`. */
export interface EurekaRegistrarOptions extends HttpRegistrarOptions {
  /**
   * Eureka's REST base, up to and including its prefix: `"http://eureka:8761/eureka"`
   * (Spring Cloud), `"http://eureka:8080/eureka/v2"` (Netflix's), or several
   * servers to fail over between (Eureka peers replicate registrations).
   * Default `"http://127.0.0.1:8761/eureka"`.
   */
  servers?: string | readonly string[];
  /** The application name (upper-cased in paths and the document, as Eureka keys apps). */
  app: string;
  /** The instance to register. */
  instance: EurekaInstanceDefinition;
  /** Time between renewals (heartbeats), ms; sent as `leaseInfo.renewalIntervalInSecs`. Default 30,000. */
  renewalIntervalMs?: number;
  /**
   * How long Eureka keeps the instance without a renewal, ms (its
   * `leaseInfo.durationInSecs`), after which its eviction task removes it.
   * More than `renewalIntervalMs`. Default 90,000 (or 3 × `renewalIntervalMs` when that is more).
   */
  durationMs?: number;
  /**
   * A health callback (eureka-js-client #137): the status registered, read
   * again before each renewal. When it changes, the instance is registered
   * again with the new status, as Eureka's Java client does, rather than
   * through the status-override endpoint (an override would outlive this
   * process and mask its next registration). A callback that throws,
   * rejects or returns anything else counts as `DOWN`, and its error is
   * emitted. Default always `UP`.
   */
  status?: () => EurekaStatus | Promise<EurekaStatus>;
}

/**
 * Self-registration in Eureka through its REST API (Netflix's "Eureka REST
 * operations"), with `Accept` and `Content-Type` `application/json`:
 *
 * - register: `POST /eureka/apps/<APP>` with the instance document
 *   (`InstanceInfo`: `hostName`, `ipAddr`, `port`, `securePort`,
 *   `vipAddress`, `dataCenterInfo`, `leaseInfo`, `metadata`, `status`);
 *   Eureka answers 204;
 * - heartbeat every `renewalIntervalMs`: `PUT /eureka/apps/<APP>/<id>`. A
 *   404 means Eureka no longer has the instance (evicted after a pause
 *   longer than `durationMs`, a restarted server): it is registered again at
 *   once (eureka-js-client #47). When the `status` callback's answer
 *   changes, the renewal is a registration with the new status instead;
 * - deregister: `DELETE /eureka/apps/<APP>/<id>`; a 404 is already gone.
 *
 * The `/eureka/v2` prefix of Netflix's server is part of `servers`. Every
 * request failure is a `RegistryError`.
 */
export class EurekaRegistrar extends HttpRegistrar {
  /** The application, upper-cased: `"API"`. */
  readonly app: string;
  /** The instance's id. */
  readonly instanceId: string;
  readonly #instance: EurekaInstance;
  readonly #renewalIntervalMs: number;
  readonly #durationMs: number;
  readonly #status: EurekaRegistrarOptions["status"];
  readonly #path: string;
  /** The status of the last successful registration. */
  #sent: EurekaStatus | undefined;
  #lastStamp = 0;

  constructor(options: EurekaRegistrarOptions) {
    const o = checkOptions<EurekaRegistrarOptions>(options, "eurekaRegistrar");
    const appGiven = checkPathName(o.app, "app");
    const app = appGiven.toUpperCase();
    const instance = checkEurekaInstance(o.instance, app, appGiven);
    const renewalIntervalMs = checkInteger(o.renewalIntervalMs, "renewalIntervalMs", 30_000, 1_000, 2 ** 31 - 1);
    const durationMs = checkInteger(
      o.durationMs,
      "durationMs",
      Math.min(2 ** 31 - 1, Math.max(90_000, 3 * renewalIntervalMs)),
      1,
      2 ** 31 - 1,
    );
    if (durationMs <= renewalIntervalMs) {
      throw new InvalidConfigError(
        "durationMs",
        `must be more than renewalIntervalMs (${renewalIntervalMs}): Eureka would evict the instance between renewals`,
      );
    }
    if (o.status !== undefined && typeof o.status !== "function") {
      throw new InvalidConfigError("status", `must be a function returning a Eureka status, got ${show(o.status)}`);
    }
    super({
      registry: "eureka",
      options: o,
      defaultName: `eureka:${app}/${instance.instanceId}`,
      urls: { option: "servers", value: o.servers, fallback: "http://127.0.0.1:8761/eureka" },
      heartbeatIntervalMs: renewalIntervalMs,
    });
    this.app = app;
    this.instanceId = instance.instanceId;
    this.#instance = instance;
    this.#renewalIntervalMs = renewalIntervalMs;
    this.#durationMs = durationMs;
    this.#status = o.status;
    this.#path = `apps/${segment(app)}`;
  }

  /** The status of the last successful registration (`undefined` before one). */
  get status(): EurekaStatus | undefined {
    return this.#sent;
  }

  protected async register(signal: AbortSignal): Promise<void> {
    await this.#register(await this.#read(signal), signal);
  }

  protected override async heartbeat(signal: AbortSignal): Promise<boolean> {
    const status = await this.#read(signal);
    if (status !== this.#sent) {
      await this.#register(status, signal);
      return true;
    }
    try {
      await this.send({ method: "PUT", path: `${this.#path}/${segment(this.instanceId)}` }, signal);
      return true;
    } catch (error) {
      if (isAnswer(error, 404)) return false;
      throw error;
    }
  }

  protected async deregister(signal: AbortSignal): Promise<void> {
    try {
      await this.send({ method: "DELETE", path: `${this.#path}/${segment(this.instanceId)}` }, signal);
    } catch (error) {
      if (!isAnswer(error, 404)) throw error;
    }
  }

  async #register(status: EurekaStatus, signal: AbortSignal): Promise<void> {
    // Eureka keeps the registration with the later lastDirtyTimestamp: each one is later than the last.
    const stamp = Math.max(Date.now(), this.#lastStamp + 1);
    this.#lastStamp = stamp;
    const lease = {
      renewalIntervalMs: this.#renewalIntervalMs,
      durationMs: this.#durationMs,
      lastDirtyTimestamp: stamp,
    };
    await this.send(
      { method: "POST", path: this.#path, json: eurekaInstanceDocument(this.#instance, status, lease) },
      signal,
    );
    this.#sent = status;
  }

  /** The status to send, from the `status` callback; its failure is emitted, and counts as DOWN. */
  async #read(signal: AbortSignal): Promise<EurekaStatus> {
    const reading = await readStatus(this.#status, EUREKA_STATUSES, "UP", "DOWN", signal);
    if (reading.error !== undefined) this.emit("error", reading.error);
    return reading.status;
  }
}

/**
 * Creates a `EurekaRegistrar`: call `start()` to register, `close()` to
 * deregister.
 *
 * @example
 * const registrar = eurekaRegistrar({
 *   servers: "http://eureka.internal:8761/eureka",
 *   app: "api",
 *   instance: { hostName: "api-1.internal", ipAddr: "10.0.0.5", port: 8080 },
 *   status: () => (db.healthy ? "UP" : "DOWN"),
 * });
 * await registrar.start();
 *
 * @throws InvalidConfigError naming the option that is missing or invalid.
 */
export function eurekaRegistrar(options: EurekaRegistrarOptions): EurekaRegistrar {
  return new EurekaRegistrar(options);
}
