import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../src/testing/index.js";
import { Arrivals } from "../../src/testing/simulator/arrivals.js";
import { EventQueue } from "../../src/testing/simulator/event-queue.js";

describe("EventQueue", () => {
  it("pops by time, then by id; peekTime is Infinity and pop -1 when empty", () => {
    const q = new EventQueue();
    expect([q.size, q.peekTime(), q.pop()]).toEqual([0, Number.POSITIVE_INFINITY, -1]);
    q.push(20, 3);
    q.push(10, 7);
    q.push(20, 1);
    q.push(10, 2);
    q.push(0.5, 9);
    expect(q.peekTime()).toBe(0.5);
    const order: number[] = [];
    while (q.size > 0) order.push(q.pop());
    expect(order).toEqual([9, 2, 7, 1, 3]);
    expect(q.pop()).toBe(-1);
  });

  it("property: any pushes pop in (time, id) order, interleaved with pops, past its initial capacity", () => {
    const op = fc.oneof(
      fc.record({ push: fc.tuple(fc.integer({ min: 0, max: 50 }), fc.nat({ max: 10_000 })) }),
      fc.record({ pop: fc.constant(true) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const q = new EventQueue();
        const model: [number, number][] = [];
        for (const o of ops) {
          if ("push" in o) {
            q.push(o.push[0], o.push[1]);
            model.push(o.push);
          } else {
            model.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
            const want = model.shift();
            if (q.pop() !== (want === undefined ? -1 : want[1])) return false;
          }
          if (q.size !== model.length) return false;
        }
        model.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        return model.every(([time, id]) => q.peekTime() === time && q.pop() === id) && q.size === 0;
      }),
      { numRuns: 200, seed: 11 },
    );
  });
});

describe("Arrivals", () => {
  it('"fixed": k × 1000 / rate from 0, while before the duration', () => {
    const a = new Arrivals(3, 2000, "fixed", seededRandom(1));
    const times: number[] = [];
    for (; a.time !== Number.POSITIVE_INFINITY; a.advance()) times.push(a.time);
    expect(times).toEqual([0, 1000 / 3, 2000 / 3, 1000, 4000 / 3, 5000 / 3]);
    // 1,000/s for 60 s: exactly 60,000, the last at 59,999 ms.
    const b = new Arrivals(1000, 60_000, "fixed", seededRandom(1));
    let n = 0;
    let last = -1;
    for (; b.time !== Number.POSITIVE_INFINITY; b.advance()) {
      last = b.time;
      n++;
    }
    expect([n, last]).toEqual([60_000, 59_999]);
  });

  it('"poisson": exponential gaps of mean 1000 / rate; the count within 4 standard deviations of rate × duration', () => {
    const a = new Arrivals(1000, 100_000, "poisson", seededRandom(5));
    let n = 0;
    let previous = 0;
    let sumSq = 0;
    let ordered = true;
    for (; a.time !== Number.POSITIVE_INFINITY; a.advance()) {
      ordered &&= a.time >= previous;
      sumSq += (a.time - previous) ** 2;
      previous = a.time;
      n++;
    }
    expect(ordered).toBe(true);
    // Poisson count: mean 100,000, sd √100,000 ≈ 316.
    expect(Math.abs(n - 100_000)).toBeLessThan(4 * 316);
    // Exponential gaps: E[gap²] = 2 × mean² = 2 ms².
    expect(Math.abs(sumSq / n - 2)).toBeLessThan(0.1);
    const again = new Arrivals(1000, 1000, "poisson", seededRandom(5));
    const first = new Arrivals(1000, 1000, "poisson", seededRandom(5));
    expect(again.time).toBe(first.time);
  });
});
