import type { EndpointInput } from "../../endpoint.js";
import { DEFAULT_WEIGHT, endpointId } from "../../endpoint.js";
import { SwitchyardError } from "../../errors.js";
import type { RegistryErrorContext } from "./error.js";
import { RegistryError } from "./error.js";
import type { InstanceList } from "./instances.js";
import { describe, isObject } from "./instances.js";

/**
 * Reading Kong Admin API answers: a page of `GET /upstreams/<name>/targets`
 * (`{ data: [{ target, weight, tags }], next, offset }`), a page of
 * `GET /upstreams/<name>/health` (`{ data: [{ target, health }], next }`),
 * and a target's `"host:port"`.
 * @module
 */

/** Kong's port for a target written without one. */
export const KONG_DEFAULT_PORT = 8000;

/** One page of a paged Kong list: its entries and the offset of the next page, if any. */
export interface KongPage {
  readonly data: readonly unknown[];
  /** The next page's `offset`: the answer's `offset`, or the one in its `next` link; `undefined` on the last page. */
  readonly offset: string | undefined;
}

/**
 * Reads one page of a Kong list. `next` is a link (`"/upstreams/x/targets?offset=..."`,
 * relative or absolute) or null; Kong also gives the bare `offset`. The
 * next page is asked of the same Admin API with that offset: a link to
 * another host is never followed (the admin token would go with it).
 *
 * @throws RegistryError `ERR_REGISTRY_BODY` for a body that is not
 * `{ data: [...] }`, or a `next`/`offset` that is neither a string nor null.
 */
export function parseKongPage(body: unknown, context: RegistryErrorContext): KongPage {
  if (!isObject(body) || !Array.isArray(body.data)) {
    throw new RegistryError(
      "ERR_REGISTRY_BODY",
      context,
      `expected a Kong list ({ data: [...], next }), got ${describe(body)}`,
    );
  }
  const { next, offset } = body;
  if (offset !== undefined && offset !== null && (typeof offset !== "string" || offset === "")) {
    throw new RegistryError("ERR_REGISTRY_BODY", context, `offset is ${describe(offset)}, not a string`);
  }
  if (next !== undefined && next !== null && typeof next !== "string") {
    throw new RegistryError("ERR_REGISTRY_BODY", context, `next is ${describe(next)}, not a link or null`);
  }
  let nextOffset = typeof offset === "string" ? offset : undefined;
  if (nextOffset === undefined && typeof next === "string") {
    let link: URL | undefined;
    try {
      link = new URL(next, "http://kong.invalid/");
    } catch {
      link = undefined;
    }
    nextOffset = link?.searchParams.get("offset") ?? undefined;
    if (nextOffset === undefined || nextOffset === "") {
      throw new RegistryError("ERR_REGISTRY_BODY", context, `next ${describe(next)} has no offset`);
    }
  }
  return { data: body.data, offset: nextOffset };
}

/**
 * Splits a Kong target into host and port: `"host:port"`, `"[v6]:port"`,
 * `"host"`, `"[v6]"` or a bare IPv6 address (port 8000, Kong's default).
 * `undefined` when the port is not digits.
 */
export function splitKongTarget(target: string): { host: string; port: number } | undefined {
  let host = target;
  let port = String(KONG_DEFAULT_PORT);
  if (target.startsWith("[")) {
    const close = target.indexOf("]");
    if (close === -1) return undefined;
    host = target.slice(0, close + 1);
    const rest = target.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) return undefined;
      port = rest.slice(1);
    }
  } else {
    const colon = target.indexOf(":");
    if (colon !== -1 && target.indexOf(":", colon + 1) === -1) {
      host = target.slice(0, colon);
      port = target.slice(colon + 1);
    }
  }
  if (!/^\d{1,5}$/.test(port)) return undefined;
  return { host, port: Number(port) };
}

/**
 * Adds one entry of a targets page to `list`: `target` (`"host:port"`),
 * `weight` (0..65535, default 100; 0 = drained, kept at weight 0 as Kong
 * keeps it), `tags` (null or strings). Targets whose endpoint id is in
 * `unhealthy` are left out (not dropped: Kong says they are down).
 */
export function addKongTarget(list: InstanceList, entry: unknown, i: number, unhealthy: ReadonlySet<string>): void {
  if (!isObject(entry) || typeof entry.target !== "string") {
    list.drop(i, `not a target object with a "target" string`);
    return;
  }
  const split = splitKongTarget(entry.target);
  if (split === undefined) {
    list.drop(i, "not host:port");
    return;
  }
  const tags = entry.tags ?? [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === "string")) {
    list.drop(i, `tags is ${describe(entry.tags)}, not an array of strings`);
    return;
  }
  const input: EndpointInput = { host: split.host, port: split.port, weight: DEFAULT_WEIGHT, tags: tags as string[] };
  if (entry.weight !== undefined && entry.weight !== null) input.weight = entry.weight as number;
  if (unhealthy.size > 0 && unhealthy.has(idOf(split) ?? "")) return;
  list.add(i, input);
}

/** A targets entry as the dropped list shows it: `target "a.test:99999"`, or `entry 3`. */
export function kongRecord(entry: unknown, i: number): string {
  return isObject(entry) && typeof entry.target === "string" ? `target ${describe(entry.target)}` : `entry ${i}`;
}

/**
 * The endpoint ids of the targets a health page lists as `UNHEALTHY`.
 * Entries without a readable target or health are ignored (health only
 * ever removes targets).
 */
export function unhealthyTargets(data: readonly unknown[], into: Set<string>): void {
  for (const entry of data) {
    if (!isObject(entry) || entry.health !== "UNHEALTHY" || typeof entry.target !== "string") continue;
    const split = splitKongTarget(entry.target);
    const id = split === undefined ? undefined : idOf(split);
    if (id !== undefined) into.add(id);
  }
}

function idOf(split: { host: string; port: number }): string | undefined {
  try {
    return endpointId(split.host, split.port);
  } catch (error) {
    if (error instanceof SwitchyardError) return undefined;
    throw error;
  }
}
