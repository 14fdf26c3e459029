import { InvalidConfigError, show } from "../errors.js";

/**
 * A set of HTTP statuses as health plug-ins read them on the hot path: a
 * `Uint8Array` indexed by status, so a membership test is one load and
 * allocates nothing. Kong accepts statuses 100..999 in its health-check
 * lists; so does this.
 * @internal
 */
export type StatusSet = Uint8Array;

/** The highest status a list may hold (Kong's schema: 100..999). @internal */
export const MAX_STATUS = 999;

/**
 * Builds a `StatusSet` from a list of statuses, or from `defaults` when
 * `list` is undefined. Throws `InvalidConfigError` naming `option` for
 * anything but an array of integers in 100..999. Duplicates are allowed.
 * @internal
 */
export function statusSet(option: string, list: unknown, defaults: readonly number[]): StatusSet {
  const statuses = list === undefined ? defaults : list;
  if (!Array.isArray(statuses)) {
    throw new InvalidConfigError(option, `must be an array of HTTP statuses (integers 100..999), got ${show(list)}`);
  }
  const set = new Uint8Array(MAX_STATUS + 1);
  for (const s of statuses) {
    if (!(Number.isInteger(s) && s >= 100 && s <= MAX_STATUS)) {
      throw new InvalidConfigError(option, `must hold HTTP statuses (integers 100..999), got ${show(s)}`);
    }
    set[s] = 1;
  }
  return set;
}

/** Whether `status` is in `set` (false for anything outside 0..999). @internal */
export function hasStatus(set: StatusSet, status: number): boolean {
  return set[status] === 1;
}

/** The statuses in `set`, ascending (for snapshots and docs). @internal */
export function statusList(set: StatusSet): number[] {
  const out: number[] = [];
  for (let s = 100; s <= MAX_STATUS; s++) if (set[s] === 1) out.push(s);
  return out;
}

/** Kong's `active.healthy.http_statuses` default. @internal */
export const KONG_ACTIVE_HEALTHY = [200, 302] as const;
/** Kong's `active.unhealthy.http_statuses` default. @internal */
export const KONG_ACTIVE_UNHEALTHY = [429, 404, 500, 501, 502, 503, 504, 505] as const;
/** Kong's `passive.healthy.http_statuses` default: 200–208, 226, 300–308. @internal */
export const KONG_PASSIVE_HEALTHY = [
  200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308,
] as const;
/** Kong's `passive.unhealthy.http_statuses` default. @internal */
export const KONG_PASSIVE_UNHEALTHY = [429, 500, 503] as const;
