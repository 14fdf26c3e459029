import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Host } from "../../src/index.js";
import { endpoint } from "../../src/index.js";
import { editHosts, hostIndex } from "../../src/upstream/sorted-hosts.js";

/** A host over `h<n>:1` in slot n (a fresh object each call, as a new host is). */
const host = (n: number): Host => ({ endpoint: endpoint({ host: `h${n}`, port: 1 }), slot: n });
const byId = (a: Host, b: Host) => (a.endpoint.id < b.endpoint.id ? -1 : a.endpoint.id > b.endpoint.id ? 1 : 0);
const ids = (list: readonly Host[] | undefined) => list?.map((h) => h.endpoint.id);

describe("sorted host lists", () => {
  it("hostIndex finds the first host whose id is not below the id", () => {
    const list = [1, 3, 5].map(host).sort(byId); // h1, h3, h5
    expect([
      hostIndex(list, "h0:1"),
      hostIndex(list, "h1:1"),
      hostIndex(list, "h2:1"),
      hostIndex(list, "h9:1"),
    ]).toEqual([0, 0, 1, 3]);
  });

  it("editHosts removes the hosts leaving and puts the joining ones in their places, in a new list", () => {
    const list = [1, 3, 5, 7].map(host).sort(byId);
    const frozen = Object.freeze([...list]);
    const out = editHosts(frozen, [list[1] as Host], [host(4), host(0), host(8)]);
    expect(ids(out)).toEqual(["h0:1", "h1:1", "h4:1", "h5:1", "h7:1", "h8:1"]);
    expect(ids(frozen)).toEqual(["h1:1", "h3:1", "h5:1", "h7:1"]);
    // The hosts that stay are the same objects.
    expect(out?.[1]).toBe(list[0]);
  });

  it("an endpoint removed and added again in one edit is the new host, in the old one's place", () => {
    const list = [1, 2, 3].map(host).sort(byId);
    const again = host(2);
    const out = editHosts(list, [list[1] as Host], [again]);
    expect(ids(out)).toEqual(["h1:1", "h2:1", "h3:1"]);
    expect(out?.[1]).toBe(again);
  });

  it("refuses an edit that does not agree with the list: undefined, the caller regroups", () => {
    const list = [1, 2, 3].map(host).sort(byId);
    expect(editHosts(list, [host(2)], [])).toBeUndefined(); // not the host the list holds
    expect(editHosts(list, [host(9)], [])).toBeUndefined(); // not in the list
    expect(editHosts(list, [], [host(2)])).toBeUndefined(); // its id is there already
    expect(editHosts(list, [], [host(5), host(5)])).toBeUndefined(); // one id joining twice
    expect(editHosts(list, [list[0] as Host, list[0] as Host], [])).toBeUndefined(); // one host leaving twice
  });

  it("gives the list sorted afresh (property)", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { maxLength: 40 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { maxLength: 10 }),
        fc.func(fc.boolean()),
        (start, joining, leaves) => {
          const list = start.map(host).sort(byId);
          const leaving = list.filter((h) => leaves(h.slot));
          const kept = list.filter((h) => !leaving.includes(h));
          const fresh = joining.filter((n) => !kept.some((h) => h.slot === n)).map(host);
          const out = editHosts(list, leaving, fresh);
          expect(ids(out)).toEqual(ids([...kept, ...fresh].sort(byId)));
        },
      ),
      { numRuns: 500 },
    );
  });
});
