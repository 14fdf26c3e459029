import type { PriorityOptions } from "./priority-options.js";

/**
 * A writable list of numbers indexed from 0: a typed array (`Int32Array`,
 * `Uint8Array`, ...) or a plain `number[]`. `computePriorityLoads()` writes
 * its results into lists of this shape, so a caller can keep them across
 * calls and nothing is allocated per call.
 */
export interface WritableNumbers {
  [index: number]: number;
  readonly length: number;
}

/**
 * Envoy keeps the overprovisioning factor as a whole percent (`uint32`, 140
 * by default) and divides in integers; switchyard takes a factor (1.4). In
 * binary floating point, factor × 100 can land just under the whole percent
 * it stands for (1.15 × 100 = 114.99999999999999), and the truncating
 * division would then lose a point: snap to the whole percent when within
 * 1e-9 of it. A factor with more than two decimals keeps its fraction
 * (Envoy cannot express it).
 */
function overprovisioningPercent(factor: number): number {
  const percent = factor * 100;
  const whole = Math.round(percent);
  return Math.abs(percent - whole) < 1e-9 ? whole : percent;
}

/**
 * Envoy's priority load, in whole percents, exactly as current Envoy
 * computes it (`LoadBalancerBase` in
 * source/extensions/load_balancing_policies/common/load_balancer_impl.cc,
 * formerly source/common/upstream/load_balancer_impl.cc; read at
 * envoyproxy/envoy e01a970ac688), for levels counted by hosts (Envoy's
 * default; `weighted_priority_health` off):
 *
 * 1. Health of a level (`recalculatePerPriorityState`):
 *    `min(100, floor(factor% × healthy / total))`, 0 for an empty level.
 *    Availability = min(100, sum of the levels' health)
 *    (`calculateNormalizedTotalAvailability`).
 * 2. When availability > 0 (`distributeLoad`): from the first level on,
 *    `load = min(left, floor(health × 100 / availability))`; what the
 *    truncation leaves (under one point per level) goes to the first level
 *    with health > 0.
 * 3. Panic (`recalculatePerPriorityPanic`, `isHostSetInPanic`): no level is
 *    in panic while availability is 100; otherwise a level is in panic when
 *    `100 × healthy / total < panicThreshold` (an empty level counts as 0%
 *    healthy, so it is in panic whenever the threshold is above 0).
 * 4. Total panic (`recalculateLoadInTotalPanic`): when every level is in
 *    panic, the loads of step 2 are replaced by shares of the host count,
 *    `floor(100 × total / all hosts)`, the rounding leftover going to the
 *    first non-empty level (5/0, 3/0, 2/0 hosts/healthy → 50/30/20;
 *    5/0, 6/2, 3/1 → 37/42/21).
 *
 * Where switchyard differs from Envoy:
 * - No degraded hosts: Envoy's degraded availability and degraded loads are
 *   always 0 here, so every load is a "healthy" load.
 * - No excluded hosts: a drained endpoint (weight 0) is simply not counted
 *   in `total`. Envoy's total panic counts excluded hosts too; here a level
 *   with `total` 0 never takes load, in any branch.
 * - Nothing can take traffic: with every level empty, or with the panic
 *   threshold at 0 and no healthy host anywhere, every load is 0 ("no
 *   healthy upstream"), where Envoy writes 100 into P=0 that it then cannot
 *   route.
 * - Health that rounds down to 0 (fewer than 1/factor percent of a level
 *   healthy, e.g. 1 of 200 hosts): when no level has health left and the
 *   levels are not all in panic (threshold 0, or a threshold under 1%,
 *   which Envoy's whole-percent threshold cannot express), the first level
 *   that is not in panic and has a healthy host takes 100. Envoy gives P=0
 *   the 100 with the threshold at 0 (the same when P=0 has a healthy host)
 *   and keeps its previous loads otherwise.
 * - Options are real numbers: the overprovisioning factor (a whole percent
 *   in Envoy, see above) and the panic threshold, which Envoy rounds to a
 *   whole percent and switchyard compares as given.
 *
 * `total[i]` is level i's host count (hosts with weight > 0) and
 * `healthy[i]` how many of them are healthy, lowest priority value first.
 * The function writes `load[i]` (whole percent, summing to 100 whenever
 * something can take traffic, else all 0) and `panic[i]` (1 when level i
 * uses all its hosts, healthy or not, else 0) for each level, overwriting
 * whatever they held; entries past the level count are left alone. It runs
 * in O(levels) and allocates nothing (it runs on every health change).
 *
 * @throws RangeError when `healthy` and `total` differ in length, an out
 *   list is shorter than the level count, or a count is not a whole number
 *   with 0 ≤ healthy ≤ total.
 */
export function computePriorityLoads(
  total: ArrayLike<number>,
  healthy: ArrayLike<number>,
  options: Required<PriorityOptions>,
  load: WritableNumbers,
  panic: WritableNumbers,
): void {
  const n = total.length;
  if (healthy.length !== n) {
    throw new RangeError(`priority loads: ${n} level totals but ${healthy.length} healthy counts`);
  }
  if (load.length < n || panic.length < n) {
    throw new RangeError(`priority loads: out lists hold ${load.length} and ${panic.length} entries, need ${n}`);
  }
  const factor = overprovisioningPercent(options.overprovisioningFactor);
  const threshold = options.panicThreshold;

  // 1. Each level's health, parked in `load` until step 2 turns it into the level's load.
  let healthSum = 0;
  let hosts = 0;
  for (let i = 0; i < n; i++) {
    const t = total[i] as number;
    const h = healthy[i] as number;
    if (!(Number.isInteger(t) && Number.isInteger(h) && h >= 0 && h <= t)) {
      throw new RangeError(`priority loads: level ${i} has ${h} healthy of ${t} hosts`);
    }
    const health = h === 0 ? 0 : Math.min(100, Math.floor((factor * h) / t));
    load[i] = health;
    panic[i] = 0;
    healthSum += health;
    hosts += t;
  }
  const availability = Math.min(100, healthSum);

  // 2. Fill from the first level; the truncation's leftover goes to the first level with health.
  // (With availability 0 every health is 0: the loads already read all 0.)
  if (availability > 0) {
    let left = 100;
    let first = -1;
    for (let i = 0; i < n; i++) {
      const health = load[i] as number;
      if (first < 0 && health > 0) first = i;
      const share = Math.min(left, Math.floor((health * 100) / availability));
      load[i] = share;
      left -= share;
    }
    load[first] = (load[first] as number) + left;
  }

  // 3. Levels together healthy enough: nobody panics, whatever a single level's health.
  if (availability === 100) return;
  let totalPanic = n > 0;
  for (let i = 0; i < n; i++) {
    const t = total[i] as number;
    const healthyPercent = t === 0 ? 0 : (100 * (healthy[i] as number)) / t;
    const inPanic = healthyPercent < threshold;
    panic[i] = inPanic ? 1 : 0;
    totalPanic &&= inPanic;
  }

  // 4. Every level in panic: split by host count, healthy or not.
  if (totalPanic) {
    if (hosts === 0) return; // every level empty: the loads are already all 0
    let left = 100;
    let first = -1;
    for (let i = 0; i < n; i++) {
      const t = total[i] as number;
      if (first < 0 && t > 0) first = i;
      const share = Math.floor((100 * t) / hosts);
      load[i] = share;
      left -= share;
    }
    load[first] = (load[first] as number) + left;
    return;
  }

  // No health left anywhere, not all in panic: the first level that can serve from healthy hosts.
  if (availability === 0) {
    for (let i = 0; i < n; i++) {
      if (panic[i] === 0 && (healthy[i] as number) > 0) {
        load[i] = 100;
        return;
      }
    }
  }
}
