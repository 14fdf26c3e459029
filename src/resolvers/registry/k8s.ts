import { readFile } from "node:fs/promises";
import type { Agent } from "node:https";
import { sleep } from "../../clock.js";
import type { Random } from "../../random.js";
import type { LookupContext, RefreshAnswer } from "../refresh/answer.js";
import { caFetch } from "./ca-fetch.js";
import { RegistryError } from "./error.js";
import type { RegistryStream } from "./http.js";
import { JsonLines } from "./json-lines.js";
import { SliceSet } from "./k8s-endpoints.js";
import type { KubernetesResolverOptions } from "./k8s-options.js";
import { BEARER_TOKEN, kubernetesSettings } from "./k8s-options.js";
import type { KnownSlice, ParsedSlice, SliceEvent, SliceOptions } from "./k8s-slices.js";
import { parseSliceEvent, parseSliceList } from "./k8s-slices.js";
import { RegistryResolver } from "./resolver.js";

/** A guard against a server whose `continue` never ends. */
const MAX_PAGES = 1_000;
/** The reason a watch is closed with when the service is to be listed again. */
const RELIST = new Error("the watch is closed to list again");

/** An open watch: its stream, read line by line. */
interface Watch {
  readonly stream: RegistryStream;
  readonly lines: JsonLines;
}

/**
 * Kubernetes discovery: the endpoints of a Service, from its EndpointSlices
 * (`discovery.k8s.io/v1`), listed once and then watched.
 *
 * - List: `GET /apis/discovery.k8s.io/v1/namespaces/<ns>/endpointslices?labelSelector=kubernetes.io/service-name=<svc>`
 *   (every page, if the server pages), then a watch from the list's
 *   `resourceVersion` (`watch=1&allowWatchBookmarks=true&timeoutSeconds=...`):
 *   a streamed GET, one JSON event per line.
 * - ADDED / MODIFIED / DELETED replace or remove one slice; all slices of
 *   the service are merged (`SliceSet`); a burst of events already
 *   received is applied at once, then published through the shared
 *   refresh loop as what it changed (`publishChanges()`: upstreams apply it
 *   in O(changed); an empty set is still confirmed before it is believed).
 *   BOOKMARK moves the `resourceVersion` only.
 * - 410 Gone (as the watch's status, or an ERROR event with code 410: the
 *   `resourceVersion` is too old) lists again. Other ERROR events: 5xx and
 *   429 resume the watch after the retry backoff, the rest list again.
 * - The API server ends each watch after its `timeoutSeconds`: it is
 *   resumed from the last `resourceVersion`, without a list.
 * - A watch silent for `stallFactor` × `bookmarkIntervalMs` (no event and no
 *   bookmark: a half-open connection, a proxy that buffers; client-node
 *   #596, #958) is torn down, reported at once as `ERR_REGISTRY_STALLED`,
 *   and the service listed again.
 * - Rate limits (client-node #1933): lists at most once per
 *   `minListIntervalMs`, watch requests at most once per `minIntervalMs`,
 *   and failures retried with the refresh loop's backoff.
 * - Credentials: see `kubernetesAccess` (a pod's service account by
 *   default; the token file read again before each request).
 * - `refresh()` lists again at once (the watch is closed and re-opened).
 */
export class KubernetesResolver extends RegistryResolver {
  /** The Service whose endpoints are watched. */
  readonly service: string;
  /** Its namespace. */
  readonly namespace: string;
  readonly #path: string;
  readonly #selector: string;
  readonly #sliceOptions: SliceOptions;
  readonly #slices: SliceSet;
  /** What a slice read anew reuses of the endpoints held (an event changes few of a slice's endpoints). */
  readonly #known: KnownSlice;
  readonly #tokenFile: string | undefined;
  readonly #agent: Agent | undefined;
  readonly #stallMs: number;
  readonly #stall: string;
  readonly #watchTimeoutMs: number;
  readonly #jitter: number;
  readonly #random: Random;
  readonly #minWatchMs: number;
  readonly #minListMs: number;
  readonly #maxLine: number;
  #token: string | undefined;
  #resourceVersion: string | undefined;
  #watch: Watch | undefined;
  #lastList = Number.NEGATIVE_INFINITY;
  #lastWatch = Number.NEGATIVE_INFINITY;
  /** `refresh()` asked: the next list does not wait for the rate limit. */
  #listNow = false;

  constructor(service: string, options?: KubernetesResolverOptions) {
    const s = kubernetesSettings(service, options);
    super({
      registry: "kubernetes",
      settings: s.agent === undefined ? s.registry : { ...s.registry, fetch: caFetch(s.agent) },
      refresh: s.refresh,
      bases: s.bases,
      headers: s.headers,
    });
    const { access } = s;
    this.service = s.service;
    this.namespace = access.namespace;
    this.#path = `apis/discovery.k8s.io/v1/namespaces/${access.namespace}/endpointslices`;
    this.#selector = `kubernetes.io/service-name=${s.service}`;
    this.#sliceOptions = { scheme: this.scheme, ...s.slices };
    this.#slices = new SliceSet(s.family);
    this.#known = (name) => this.#slices.known(name);
    this.#agent = s.agent;
    this.#tokenFile = access.tokenFile;
    this.#token = access.token;
    if (access.token !== undefined) this.credentials.bearer(access.token, access.tokenFile ? "tokenFile" : "token");
    this.#stallMs = Math.ceil(s.bookmarkIntervalMs * s.stallFactor);
    this.#stall = `no event and no bookmark for ${this.#stallMs} ms (${s.stallFactor} × the ${s.bookmarkIntervalMs} ms between bookmarks); listing again`;
    this.#watchTimeoutMs = s.watchTimeoutMs;
    this.#jitter = s.refresh.jitter;
    this.#random = s.refresh.random;
    this.#minWatchMs = s.minWatchMs;
    this.#minListMs = s.minListMs;
    this.#maxLine = s.registry.maxBodyBytes;
  }

  /** The `resourceVersion` the watch resumes from; `undefined` until a list, and when the next step is a list. */
  get resourceVersion(): string | undefined {
    return this.#resourceVersion;
  }

  /** True while a watch is open (its answer's headers came). */
  get watching(): boolean {
    return this.#watch !== undefined;
  }

  /** Number of EndpointSlices of the service held now (of every address type). */
  get slices(): number {
    return this.#slices.size;
  }

  /**
   * Lists the service again now, without waiting for `minListIntervalMs`:
   * the watch is closed and re-opened from the new list. Never rejects.
   */
  override refresh(): Promise<void> {
    if (!this.closed) {
      this.#listNow = true;
      this.#relist();
    }
    return super.refresh();
  }

  protected async lookup(context: LookupContext): Promise<RefreshAnswer> {
    // An empty answer is confirmed by a list, not by more of the watch that said so.
    if (context.confirming) this.#relist();
    for (;;) {
      if (this.#resourceVersion === undefined) return await this.#list(context.signal);
      if (await this.#follow(context.signal)) return this.#answer();
    }
  }

  protected override async onClose(): Promise<void> {
    await super.onClose();
    this.#closeWatch();
    this.#agent?.destroy();
  }

  /** Lists every slice of the service; the watch starts from the list's `resourceVersion`. */
  async #list(signal: AbortSignal): Promise<RefreshAnswer> {
    this.#closeWatch();
    if (this.#listNow) this.#listNow = false;
    else await this.#pace(this.#lastList, this.#minListMs, signal);
    await this.#readToken();
    this.#lastList = this.clock.now();
    const slices: ParsedSlice[] = [];
    let version: string | undefined;
    let next: string | undefined;
    let pages = 0;
    do {
      const query: [string, string][] = [["labelSelector", this.#selector]];
      if (next !== undefined) query.push(["continue", next]);
      const response = await this.get({ path: this.#path, query }, signal);
      const page = parseSliceList(response.body, this.#sliceOptions, this.http.context(response.url), this.#known);
      for (const slice of page.slices) slices.push(slice);
      version ??= page.resourceVersion;
      next = page.continue;
      if (++pages >= MAX_PAGES && next !== undefined) {
        throw this.answerError("ERR_REGISTRY_BODY", `more than ${MAX_PAGES} pages`);
      }
    } while (next !== undefined);
    this.#slices.reset(slices);
    this.#resourceVersion = version;
    return this.#answer();
  }

  /**
   * Opens the watch if none is open, then reads events until the merged set
   * changed and no further event is already here (true), or until the
   * watch ended or the service must be listed again (false).
   */
  async #follow(signal: AbortSignal): Promise<boolean> {
    let watch = this.#watch;
    if (watch === undefined) {
      try {
        watch = await this.#open(signal);
      } catch (error) {
        return this.#failed(error, false);
      }
      if (watch === undefined) return false; // refresh() asked for a list meanwhile
    }
    let changed = false;
    try {
      do {
        const line = await watch.lines.next();
        if (line === undefined) {
          // The API server ended the watch (its timeoutSeconds): resumed from the last resourceVersion.
          this.#watch = undefined;
          return changed;
        }
        const event = parseSliceEvent(line, this.#sliceOptions, this.http.context(watch.stream.url), this.#known);
        if (event.type === "ERROR") throw this.#eventError(event, watch.stream.url);
        if (event.type !== "BOOKMARK") changed = this.#apply(event) || changed;
        if (event.resourceVersion !== undefined) this.#resourceVersion = event.resourceVersion;
      } while (!changed || watch.lines.buffered);
      return true;
    } catch (error) {
      return this.#failed(error, true);
    }
  }

  /**
   * Applies one watch event to the in-memory endpoints: the one place a
   * watch changes them. True when the merged set changed.
   */
  #apply(event: Exclude<SliceEvent, { type: "BOOKMARK" | "ERROR" }>): boolean {
    return event.type === "DELETED"
      ? this.#slices.apply(event.name, undefined)
      : this.#slices.apply(event.slice.name, event.slice);
  }

  /** The whole set after a list; after watch events, what they changed (published in O(changed)). */
  #answer(): RefreshAnswer {
    const slices = this.#slices;
    const changes = slices.takeChanges();
    if (changes === undefined) return { endpoints: slices.endpoints(), dropped: slices.dropped(), delayMs: 0 };
    return {
      get endpoints() {
        return slices.endpoints();
      },
      changes,
      dropped: slices.dropped(),
      delayMs: 0,
    };
  }

  /** Opens a watch from the `resourceVersion` held; `undefined` when a list was asked for meanwhile. */
  async #open(signal: AbortSignal): Promise<Watch | undefined> {
    await this.#pace(this.#lastWatch, this.#minWatchMs, signal);
    await this.#readToken();
    const from = this.#resourceVersion;
    if (from === undefined) return undefined;
    this.#lastWatch = this.clock.now();
    const timeout = Math.max(1, Math.round((this.#watchTimeoutMs * (1 - this.#jitter * this.#random.next())) / 1000));
    const stream = await this.http.open(
      {
        path: this.#path,
        query: [
          ["labelSelector", this.#selector],
          ["watch", "1"],
          ["resourceVersion", from],
          ["allowWatchBookmarks", "true"],
          ["timeoutSeconds", String(timeout)],
        ],
        stallMs: this.#stallMs,
        stall: this.#stall,
      },
      signal,
    );
    if (this.#resourceVersion !== from) {
      stream.close(RELIST); // refresh() asked for a list while the watch was being opened
      return undefined;
    }
    const watch = { stream, lines: new JsonLines(stream, this.#maxLine, this.http.context(stream.url)) };
    this.#watch = watch;
    return watch;
  }

  /**
   * A watch failed (`opened`: after its headers came): false to list again
   * at once, or the error to throw (retried by the refresh loop).
   */
  #failed(error: unknown, opened: boolean): boolean {
    this.#closeWatch();
    if (error === RELIST) return false;
    if (!(error instanceof RegistryError)) throw error;
    if (error.status === 410) {
      this.#relist(); // Gone: the resourceVersion is too old to watch from
      return false;
    }
    if (error.code === "ERR_REGISTRY_STALLED") {
      this.#relist();
      this.failNow(error); // reported now
      // A watch that went silent after it opened: listed again at once. One
      // that never answered is a failed try, retried at once (a list).
      if (opened) return false;
    } else if (error.code === "ERR_REGISTRY_BODY" || error.code === "ERR_REGISTRY_TOO_LARGE" || !error.retryable) {
      this.#relist(); // events that could not be read, or refused: trust a list, not a resumed watch
    }
    throw error;
  }

  /** An ERROR event as an error: its status code is the status. */
  #eventError(event: Extract<SliceEvent, { type: "ERROR" }>, url: string): RegistryError {
    const what = [event.code, event.reason, event.message].filter((x) => x !== undefined).join(" ");
    return new RegistryError(
      "ERR_REGISTRY_HTTP",
      this.http.context(url),
      this.http.redact(`watch ERROR event: ${what === "" ? "no status" : what}`),
      { status: event.code },
    );
  }

  /** Waits until `minMs` after `last` on the clock. */
  async #pace(last: number, minMs: number, signal: AbortSignal): Promise<void> {
    const wait = last + minMs - this.clock.now();
    if (wait > 0) await sleep(this.clock, wait, signal);
  }

  /** Reads the token file again: a rotated token replaces the old one. A file that cannot be read keeps the last token. */
  async #readToken(): Promise<void> {
    if (this.#tokenFile === undefined) return;
    let token: string;
    try {
      token = (await readFile(this.#tokenFile, "utf8")).trim();
    } catch {
      return;
    }
    if (token === this.#token || !BEARER_TOKEN.test(token)) return;
    this.credentials.bearer(token, "tokenFile");
    this.#token = token;
  }

  #relist(): void {
    this.#resourceVersion = undefined;
    this.#closeWatch();
  }

  #closeWatch(): void {
    const watch = this.#watch;
    this.#watch = undefined;
    watch?.stream.close(RELIST);
  }
}

/**
 * Creates a `KubernetesResolver` for the endpoints of Service `service`.
 *
 * @example
 * // In a pod whose service account may list and watch endpointslices:
 * const resolver = kubernetesResolver("api", { port: "http" });
 * const api = createUpstream({ name: "api", resolver });
 *
 * @throws InvalidConfigError on a bad service name or option, or when no
 * API server is given outside a cluster.
 */
export function kubernetesResolver(service: string, options?: KubernetesResolverOptions): KubernetesResolver {
  return new KubernetesResolver(service, options);
}
