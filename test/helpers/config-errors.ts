import { expect } from "vitest";
import { InvalidConfigError } from "../../src/index.js";

/** Asserts that `create(...args)` throws an `InvalidConfigError` naming `option`, for every row. */
export function expectConfigErrors<A extends unknown[]>(
  create: (...args: A) => unknown,
  rows: readonly (readonly [...args: A, option: string])[],
): void {
  for (const row of rows) {
    const args = row.slice(0, -1) as unknown as A;
    const option = row[row.length - 1] as string;
    let caught: unknown;
    try {
      create(...args);
    } catch (error) {
      caught = error;
    }
    expect(caught, JSON.stringify(args)).toBeInstanceOf(InvalidConfigError);
    expect((caught as InvalidConfigError).option, JSON.stringify(args)).toBe(option);
  }
}
