import type { Host, Picker } from "../balancer.js";
import { EMPTY_PICKER } from "../balancer.js";
import type { Random } from "../random.js";
import { LevelBounds, PriorityPicker } from "./priority-picker.js";
import type { EndpointTable } from "./table.js";
import type { ZoneLoad, ZoneRouting } from "./zone-loads.js";
import { computeZoneLoads } from "./zone-loads.js";
import type { ResolvedZoneOptions } from "./zone-options.js";

/** One zone of a level: its hosts, and the picker over those of them in the level's current build. */
interface ZonePart {
  readonly zone: string | undefined;
  readonly hosts: readonly Host[];
  picker: Picker;
  /** Hosts in the picker. */
  pickerSize: number;
  /** Cell 0: of those, how many are down now (the picker skips them). */
  pickerDown: Int32Array;
}

/**
 * One priority level's hosts split by zone, for zone affinity: a picker per
 * zone (built with the level's own picker, over the same hosts), healthy
 * counts per zone kept current on flips, and the level's routing
 * (`computeZoneLoads`) recomputed in O(zones). `picker()` is what the level
 * serves: its own picker when routing is off, the local zone's picker when
 * direct, and in spill a `PriorityPicker` over the zones' pickers, whose
 * bounds are rewritten in place when the split moves. @internal
 */
export class ZoneSplit {
  /** The level's routing now. */
  routing: ZoneRouting = "off";
  readonly #parts: ZonePart[];
  readonly #hasLocal: boolean;
  readonly #healthy: Int32Array;
  readonly #callers: Float64Array;
  readonly #callerTotal: number;
  readonly #load: Float64Array;
  readonly #bounds: LevelBounds;
  readonly #options: ResolvedZoneOptions;
  readonly #table: EndpointTable;
  #spill: PriorityPicker | undefined;

  /** Groups `hosts` (one level's) by zone, the caller's zone first, the others by name, no zone last. */
  constructor(hosts: readonly Host[], table: EndpointTable, options: ResolvedZoneOptions, random: Random) {
    const byZone = new Map<string | undefined, Host[]>();
    for (const h of hosts) {
      const group = byZone.get(h.endpoint.zone);
      if (group) group.push(h);
      else byZone.set(h.endpoint.zone, [h]);
    }
    const zones = [...byZone.keys()].sort((a, b) => rank(a, options.local) - rank(b, options.local) || order(a, b));
    const n = zones.length;
    this.#parts = zones.map((zone) => ({
      zone,
      hosts: byZone.get(zone) as Host[],
      picker: EMPTY_PICKER,
      pickerSize: 0,
      pickerDown: new Int32Array(1),
    }));
    this.#hasLocal = zones[0] === options.local;
    this.#healthy = new Int32Array(n);
    this.#callers = new Float64Array(n);
    this.#load = new Float64Array(n);
    this.#options = options;
    this.#table = table;
    const shares = options.callerShares;
    this.#callerTotal = shares === undefined ? hosts.length : options.callerTotal;
    this.#parts.forEach((part, z) => {
      for (const h of part.hosts) {
        table.zone[h.slot] = z;
        if (table.down[h.slot] === 0) this.#healthy[z] = (this.#healthy[z] as number) + 1;
      }
      this.#callers[z] =
        shares === undefined ? part.hosts.length : part.zone === undefined ? 0 : (shares.get(part.zone) ?? 0);
    });
    this.#bounds = new LevelBounds(n);
    this.#bounds.start(random);
  }

  /**
   * Builds each zone's picker over its hosts among `chosen` (the hosts of
   * the level's new picker), with a down count of its own, as the planner
   * builds the level's.
   */
  build(
    chosen: readonly Host[],
    panic: boolean,
    build: (hosts: readonly Host[], downHosts: Int32Array) => Picker,
  ): void {
    const table = this.#table;
    const groups: Host[][] = this.#parts.map(() => []);
    for (const h of chosen) (groups[table.zone[h.slot] as number] as Host[]).push(h);
    this.#parts.forEach((part, z) => {
      const hosts = groups[z] as Host[];
      let down = 0;
      if (!panic) for (const h of hosts) down += table.down[h.slot] as number;
      part.pickerDown = Int32Array.of(down);
      part.pickerSize = hosts.length;
      part.picker = hosts.length === 0 ? EMPTY_PICKER : build(hosts, part.pickerDown);
    });
    this.#spill = undefined;
  }

  /**
   * The slot's `down` flag changed: its zone's healthy count and its zone
   * picker's down count move. Returns true when over half of that picker is
   * down (the level's picker is then due for a rebuild).
   */
  flip(slot: number, down: boolean, inPicker: boolean, builtPanic: boolean): boolean {
    const z = this.#table.zone[slot] as number;
    const part = this.#parts[z];
    if (part === undefined) return false;
    this.#healthy[z] = (this.#healthy[z] as number) + (down ? -1 : 1);
    if (!inPicker || builtPanic) return false;
    const n = (part.pickerDown[0] as number) + (down ? 1 : -1);
    part.pickerDown[0] = n;
    return down && n * 2 > part.pickerSize;
  }

  /** Recomputes the routing and the spill bounds, in place, for the level's panic state. O(zones). */
  route(panic: boolean): void {
    this.routing = computeZoneLoads(
      this.#healthy,
      this.#callers,
      this.#callerTotal,
      this.#hasLocal,
      panic,
      this.#options,
      this.#load,
    );
    if (this.routing === "spill") this.#bounds.setFractions(this.#load);
  }

  /** The picker the level serves, given its own picker over every zone. */
  picker(levelPicker: Picker): Picker {
    if (this.routing === "off") return levelPicker;
    if (this.routing === "direct") return (this.#parts[0] as ZonePart).picker;
    this.#spill ??= new PriorityPicker(
      this.#parts.map((p) => p.picker),
      this.#bounds,
    );
    return this.#spill;
  }

  /** Each zone's figures, the caller's zone first. */
  describe(): ZoneLoad[] {
    return this.#parts.map((part, z) => ({
      zone: part.zone,
      total: part.hosts.length,
      healthy: this.#healthy[z] as number,
      load: this.routing === "off" ? undefined : 100 * (this.#load[z] as number),
    }));
  }
}

/** The caller's zone first, then named zones, then endpoints without a zone. */
function rank(zone: string | undefined, local: string): number {
  return zone === local ? 0 : zone === undefined ? 2 : 1;
}

function order(a: string | undefined, b: string | undefined): number {
  return a === b ? 0 : (a ?? "") < (b ?? "") ? -1 : 1;
}
