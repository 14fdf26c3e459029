/** A typed-array column of per-endpoint state, indexed by slot. @internal */
export type Column = Uint8Array | Uint32Array | Float64Array;

/**
 * A copy of `column` with room for `capacity` slots (the new ones 0), for
 * health plug-ins that keep their state in columns grown with the upstream's
 * table. @internal
 */
export function grown<T extends Column>(column: T, capacity: number): T {
  const next = new (column.constructor as new (n: number) => T)(capacity);
  next.set(column);
  return next;
}
