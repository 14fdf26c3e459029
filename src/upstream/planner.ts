import type { Balancer, BalancerContext, Host, Picker } from "../balancer.js";
import { EMPTY_PICKER } from "../balancer.js";
import type { Clock } from "../clock.js";
import type { Endpoint } from "../endpoint.js";
import type { Random } from "../random.js";
import { computePriorityLoads } from "./priority-loads.js";
import type { PriorityLevel, PriorityOptions } from "./priority-options.js";
import { LevelBounds, PriorityPicker } from "./priority-picker.js";
import { editHosts } from "./sorted-hosts.js";
import type { EndpointTable } from "./table.js";
import type { ResolvedZoneOptions } from "./zone-options.js";
import { ZoneSplit } from "./zone-split.js";

/** One priority level: its hosts with weight > 0, counts, load, and the picker over it. */
interface Level {
  readonly priority: number;
  /** Sorted by id, as the upstream's host list. */
  hosts: readonly Host[];
  healthy: number;
  picker: Picker;
  /** Hosts in the picker. */
  pickerSize: number;
  /** Cell 0: of those, how many are down now (the picker skips them); the picker reads it. */
  pickerDown: Int32Array;
  /** Whether the picker was built in panic (over every host, skipping none). */
  builtPanic: boolean;
  /** A host that is up is missing from the picker, or too many in it are down, or a weight changed (slow start). */
  stale: boolean;
  /** With zone affinity: the level's hosts by zone, and its routing. */
  zones: ZoneSplit | undefined;
  /** The picker the level serves: `picker`, or with zone affinity a zone's or the zone split's. */
  active: Picker;
}

/**
 * A change of the upstream's host set, as `PriorityPlanner.update()`
 * applies it. @internal
 */
export interface HostSetChange {
  /** The whole set after the change, sorted by id. */
  readonly hosts: readonly Host[];
  /** Hosts that joined. */
  readonly joined: readonly Host[];
  /** Hosts that left. */
  readonly left: readonly Host[];
  /** For each host of `left`, whether it was down as it left (its slot may be freed by now). */
  readonly leftDown: readonly boolean[];
  /** Hosts whose endpoint changed (weight, priority or another field; not the id). */
  readonly changed: readonly Host[];
  /** For each host of `changed`, its endpoint before the change. */
  readonly before: readonly Endpoint[];
}

/** What a change does to one level: hosts leaving it, hosts joining it, and the move of its healthy count. */
interface LevelEdit {
  readonly leaving: Host[];
  readonly joining: Host[];
  healthy: number;
}

/**
 * The upstream's priority levels (Envoy's priority set): groups hosts with
 * weight > 0 by priority, keeps each level's healthy count, computes loads
 * and panic (`computePriorityLoads`), and keeps one picker per level plus a
 * `PriorityPicker` over them. The picker to use is `picker`.
 *
 * Eligibility flips cost O(levels): the level's healthy count moves, loads
 * and panic are recomputed and written into the shared bounds in place, and
 * the level's picker skips a host that went down at pick time. A level's
 * picker is rebuilt only when its panic state changes (at once: a picker
 * built in panic does not skip), when a host that came back up is not in it,
 * or when over half of it is down (both deferred: `stale`, then `flush()`).
 *
 * A change of the endpoint set (`update()`) rebuilds only the levels it
 * touches, unless it adds or empties a level (then everything is regrouped).
 *
 * With zone affinity (`zone` options), each level also keeps a picker per
 * zone, built with the level's, and serves the one its routing calls for
 * (`ZoneSplit`); a flip recomputes every level's routing in O(zones).
 */
export class PriorityPlanner {
  /** The picker to use now: one level's picker, the priority picker over several, or the empty picker. */
  picker: Picker = EMPTY_PICKER;
  #levels: Level[] = [];
  #load = new Int32Array(0);
  #panic = new Uint8Array(0);
  #total = new Int32Array(0);
  #healthy = new Int32Array(0);
  #bounds: LevelBounds;
  #priorityPicker: PriorityPicker | undefined;
  #started = false;
  readonly #balancer: Balancer;
  readonly #table: EndpointTable;
  readonly #random: Random;
  readonly #clock: Clock;
  readonly #options: Required<PriorityOptions>;
  readonly #zone: ResolvedZoneOptions | undefined;
  readonly #requestRebuild: ((priority: number, delayMs: number) => void) | undefined;

  /**
   * `requestRebuild`, when given, is how a balancer's
   * `BalancerContext.requestRebuild` reaches the upstream, with the level's
   * priority (see `RebuildRequests`).
   */
  constructor(
    balancer: Balancer,
    table: EndpointTable,
    random: Random,
    clock: Clock,
    options: Required<PriorityOptions>,
    zone?: ResolvedZoneOptions,
    requestRebuild?: (priority: number, delayMs: number) => void,
  ) {
    this.#balancer = balancer;
    this.#table = table;
    this.#random = random;
    this.#clock = clock;
    this.#options = options;
    this.#zone = zone;
    this.#requestRebuild = requestRebuild;
    this.#bounds = new LevelBounds(0);
  }

  /** True when some level's picker awaits a deferred rebuild. */
  get stale(): boolean {
    for (const level of this.#levels) if (level.stale) return true;
    return false;
  }

  /** Regroups every host into levels and rebuilds every level's picker (after a change of the endpoint set). */
  rebuild(hosts: readonly Host[]): void {
    const table = this.#table;
    const byPriority = new Map<number, Host[]>();
    for (const h of hosts) {
      table.level[h.slot] = -1;
      table.inPicker[h.slot] = 0;
      if (h.endpoint.weight === 0) continue;
      const group = byPriority.get(h.endpoint.priority);
      if (group) group.push(h);
      else byPriority.set(h.endpoint.priority, [h]);
    }
    const priorities = [...byPriority.keys()].sort((a, b) => a - b);
    const n = priorities.length;
    this.#levels = priorities.map((priority, i) => {
      const group = byPriority.get(priority) as Host[];
      let healthy = 0;
      for (const h of group) {
        table.level[h.slot] = i;
        if (table.down[h.slot] === 0) healthy++;
      }
      return {
        priority,
        hosts: group,
        healthy,
        picker: EMPTY_PICKER,
        pickerSize: 0,
        pickerDown: new Int32Array(1),
        builtPanic: false,
        stale: true,
        zones: this.#zone === undefined ? undefined : new ZoneSplit(group, table, this.#zone, this.#random),
        active: EMPTY_PICKER,
      };
    });
    this.#load = new Int32Array(n);
    this.#panic = new Uint8Array(n);
    this.#total = new Int32Array(n);
    this.#healthy = new Int32Array(n);
    for (let i = 0; i < n; i++) this.#total[i] = (this.#levels[i] as Level).hosts.length;
    this.#bounds = new LevelBounds(n);
    this.#started = false;
    this.#recompute(false);
    for (let i = 0; i < n; i++) this.#buildLevel(i, false);
    this.#priorityPicker = undefined;
    this.#choosePicker();
  }

  /**
   * Applies a change of the host set (`HostSetChange`). Only the levels it
   * touches are edited (O(k log n) id comparisons for k hosts changed) and
   * have their pickers rebuilt (O(size of the level)); the others keep
   * their pickers, and the priority sequence carries on. A change that adds
   * a level or empties one, or that touches over an eighth of the hosts,
   * regroups everything (`rebuild(change.hosts)`), as does a change that
   * does not agree with the levels held.
   */
  update(change: HostSetChange): void {
    const { hosts, joined, left, leftDown, changed, before } = change;
    if (this.#levels.length === 0 || (joined.length + left.length + changed.length) * 8 > hosts.length) {
      this.rebuild(hosts);
      return;
    }
    const table = this.#table;
    // Per level touched: the hosts leaving it and joining it, and how its healthy count moves.
    const edits = new Map<number, LevelEdit>();
    const edit = (i: number) => {
      let e = edits.get(i);
      if (e === undefined) {
        e = { leaving: [], joining: [], healthy: 0 };
        edits.set(i, e);
      }
      return e;
    };
    let regroup = false;
    const move = (host: Host, from: Endpoint | undefined, to: Endpoint | undefined, up: boolean) => {
      const a = from === undefined ? -1 : this.#place(from);
      const b = to === undefined ? -1 : this.#place(to);
      if (a === -2 || b === -2)
        regroup = true; // a priority with no level yet
      else if (a === b) {
        if (a >= 0) edit(a); // same level, another weight or field: its picker is rebuilt
      } else {
        if (a >= 0) {
          const e = edit(a);
          e.leaving.push(host);
          if (up) e.healthy--;
        }
        if (b >= 0) {
          const e = edit(b);
          e.joining.push(host);
          if (up) e.healthy++;
        }
      }
    };
    for (let k = 0; k < left.length; k++) move(left[k] as Host, (left[k] as Host).endpoint, undefined, !leftDown[k]);
    for (let k = 0; k < changed.length; k++) {
      const h = changed[k] as Host;
      move(h, before[k], h.endpoint, table.down[h.slot] === 0);
    }
    for (const h of joined) move(h, undefined, h.endpoint, table.down[h.slot] === 0);
    const lists = new Map<number, readonly Host[]>();
    for (const [i, e] of edits) {
      if (regroup) break;
      const level = this.#levels[i] as Level;
      const list =
        e.leaving.length === 0 && e.joining.length === 0 ? level.hosts : editHosts(level.hosts, e.leaving, e.joining);
      if (list === undefined || list.length === 0)
        regroup = true; // a level that empties, or a change that does not agree
      else lists.set(i, list);
    }
    if (regroup) {
      this.rebuild(hosts);
      return;
    }
    for (const e of edits.values()) {
      for (const h of e.leaving) {
        table.level[h.slot] = -1;
        table.inPicker[h.slot] = 0;
      }
    }
    for (const [i, e] of edits) {
      for (const h of e.joining) table.level[h.slot] = i;
      const level = this.#levels[i] as Level;
      const list = lists.get(i) as readonly Host[];
      level.hosts = list;
      level.healthy += e.healthy;
      level.zones = this.#zone === undefined ? undefined : new ZoneSplit(list, table, this.#zone, this.#random);
      this.#total[i] = list.length;
    }
    this.#recompute(false);
    for (let i = 0; i < this.#levels.length; i++) {
      const level = this.#levels[i] as Level;
      if (edits.has(i) || (this.#panic[i] === 1) !== level.builtPanic) this.#buildLevel(i, false);
    }
    this.#choosePicker();
  }

  /** The index of the level an endpoint belongs in: -1 for weight 0 (none), -2 when no level has its priority. */
  #place(e: Endpoint): number {
    if (e.weight === 0) return -1;
    const levels = this.#levels;
    let lo = 0;
    let hi = levels.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((levels[mid] as Level).priority < e.priority) lo = mid + 1;
      else hi = mid;
    }
    return (levels[lo] as Level | undefined)?.priority === e.priority ? lo : -2;
  }

  /**
   * The slot's `down` flag changed: updates its level's counts, loads and
   * panic in O(levels), rebuilding a level's picker at once only when its
   * panic state changed. Returns true when a deferred rebuild is now due.
   */
  flip(slot: number, down: boolean): boolean {
    const table = this.#table;
    const i = table.level[slot] as number;
    if (i < 0) return false;
    const level = this.#levels[i] as Level;
    const inPicker = table.inPicker[slot] === 1;
    const pickerDown = level.pickerDown;
    if (level.zones?.flip(slot, down, inPicker, level.builtPanic)) level.stale = true;
    if (down) {
      level.healthy--;
      if (inPicker && !level.builtPanic) {
        const n = (pickerDown[0] as number) + 1;
        pickerDown[0] = n;
        if (n * 2 > level.pickerSize) level.stale = true;
      }
    } else {
      level.healthy++;
      if (!inPicker) level.stale = true;
      else if (!level.builtPanic) pickerDown[0] = (pickerDown[0] as number) - 1;
    }
    this.#recompute(true);
    this.#choosePicker();
    return level.stale;
  }

  /**
   * The slot's effective weight changed (slow start): its level's pickers
   * are rebuilt by the next `flush()`. Returns false for a slot in no level.
   */
  touch(slot: number): boolean {
    const i = this.#table.level[slot] as number;
    if (i < 0) return false;
    (this.#levels[i] as Level).stale = true;
    return true;
  }

  /**
   * The level of `priority` is to be rebuilt by the next `flush()` (a
   * balancer asked for it). Returns false when no level has that priority.
   */
  touchLevel(priority: number): boolean {
    const level = this.#levels.find((l) => l.priority === priority);
    if (level === undefined) return false;
    level.stale = true;
    return true;
  }

  /**
   * Rebuilds the levels whose pickers are stale. With `compact`, also every
   * level whose picker holds a host that is down, now built over the
   * eligible hosts only (a picker gave up skipping). Returns true when a
   * picker was rebuilt.
   */
  flush(compact = false): boolean {
    let rebuilt = false;
    for (let i = 0; i < this.#levels.length; i++) {
      const level = this.#levels[i] as Level;
      if (level.stale || (compact && (level.pickerDown[0] as number) > 0)) {
        this.#buildLevel(i, compact);
        rebuilt = true;
      }
    }
    if (rebuilt) this.#choosePicker();
    return rebuilt;
  }

  /** Each level's figures, lowest priority first. */
  levels(): PriorityLevel[] {
    return this.#levels.map((level, i) => ({
      priority: level.priority,
      total: level.hosts.length,
      healthy: level.healthy,
      load: this.#load[i] as number,
      panic: this.#panic[i] === 1,
      ...(level.zones === undefined ? {} : { zoneRouting: level.zones.routing, zones: level.zones.describe() }),
    }));
  }

  /**
   * Recomputes loads and panic, and each level's zone routing; with
   * `rebuildPanicChanges`, rebuilds a level whose panic state changed.
   */
  #recompute(rebuildPanicChanges: boolean): void {
    const n = this.#levels.length;
    for (let i = 0; i < n; i++) this.#healthy[i] = (this.#levels[i] as Level).healthy;
    computePriorityLoads(this.#total, this.#healthy, this.#options, this.#load, this.#panic);
    this.#bounds.set(this.#load);
    for (let i = 0; i < n; i++) {
      const level = this.#levels[i] as Level;
      if (rebuildPanicChanges && (this.#panic[i] === 1) !== level.builtPanic) this.#buildLevel(i, false);
      if (level.zones !== undefined) {
        level.zones.route(this.#panic[i] === 1);
        this.#activate(level);
      }
    }
  }

  /** Sets the picker level serves; a new one calls for a new priority picker. */
  #activate(level: Level): void {
    const active = level.zones === undefined ? level.picker : level.zones.picker(level.picker);
    if (active === level.active) return;
    level.active = active;
    this.#priorityPicker = undefined;
  }

  /**
   * Builds level i's picker: in panic over every host, skipping none;
   * otherwise skipping hosts that go down, and over every host while at most
   * a quarter are down (a host that comes back is then picked at once), or
   * over the eligible ones only.
   */
  #buildLevel(i: number, compact: boolean): void {
    const table = this.#table;
    const level = this.#levels[i] as Level;
    const panic = this.#panic[i] === 1;
    const down = level.hosts.length - level.healthy;
    let chosen = level.hosts;
    if (!panic && down > 0 && (compact || down * 4 > level.hosts.length)) {
      chosen = level.hosts.filter((h) => table.down[h.slot] === 0);
    }
    if (chosen !== level.hosts) mark(table.inPicker, level.hosts, 0);
    mark(table.inPicker, chosen, 1);
    // A fresh cell per picker: the old picker's count must not move under it.
    const pickerDown = Int32Array.of(
      panic ? 0 : chosen.length - (chosen === level.hosts ? level.healthy : chosen.length),
    );
    const request = this.#requestRebuild;
    const requestRebuild = request === undefined ? undefined : (delayMs: number) => request(level.priority, delayMs);
    const build = (hosts: readonly Host[], downHosts: Int32Array): Picker => {
      const context: BalancerContext = {
        random: this.#random,
        clock: this.#clock,
        table,
        skipEjected: !panic,
        downHosts,
        levelHosts: level.hosts,
        ...(requestRebuild === undefined ? {} : { requestRebuild }),
      };
      return this.#balancer.build(hosts, context);
    };
    level.picker = chosen.length === 0 ? EMPTY_PICKER : build(chosen, pickerDown);
    level.pickerSize = chosen.length;
    level.pickerDown = pickerDown;
    level.builtPanic = panic;
    level.stale = false;
    level.zones?.build(chosen, panic, build);
    this.#priorityPicker = undefined;
    this.#activate(level);
  }

  /** Sets `picker`: the only loaded level's picker, or a priority picker over all levels. */
  #choosePicker(): void {
    let loaded = 0;
    let only = -1;
    for (let i = 0; i < this.#levels.length; i++) {
      if ((this.#load[i] as number) > 0) {
        loaded++;
        only = i;
      }
    }
    if (loaded === 0) {
      this.picker = EMPTY_PICKER;
    } else if (loaded === 1) {
      this.picker = (this.#levels[only] as Level).active;
    } else {
      if (this.#priorityPicker === undefined) {
        // The sequence starts at random once per regrouping; it carries on across level rebuilds.
        if (!this.#started) this.#bounds.start(this.#random);
        this.#started = true;
        this.#priorityPicker = new PriorityPicker(
          this.#levels.map((l) => l.active),
          this.#bounds,
        );
      }
      this.picker = this.#priorityPicker;
    }
  }
}

/** Sets `flags[slot]` to `value` for each host's slot. */
function mark(flags: Uint8Array, hosts: readonly Host[], value: number): void {
  for (let i = 0; i < hosts.length; i++) flags[(hosts[i] as Host).slot] = value;
}
