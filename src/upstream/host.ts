import type { Host } from "../balancer.js";
import type { Endpoint } from "../endpoint.js";

/** The upstream's record of one endpoint: its current version and its slot in the table. */
export class UpstreamHost implements Host {
  /** Replaced when the endpoint's weight or metadata change; the slot stays. */
  endpoint: Endpoint;
  readonly slot: number;
  /** Update round in which the resolver last listed this endpoint (diff bookkeeping). */
  seen = 0;

  constructor(endpoint: Endpoint, slot: number) {
    this.endpoint = endpoint;
    this.slot = slot;
  }
}
