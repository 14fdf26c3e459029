/**
 * Consul's blocking-query index rules ("Blocking Queries: Implementation
 * Details" in Consul's API docs), as a pure function of the index held and
 * the `X-Consul-Index` header of an answer:
 *
 * - **Reset the index if it goes backwards.** Indexes usually only grow, but
 *   a snapshot restore, a new cluster or an agent of another cluster can
 *   answer with a lower one; blocking on the old index would then wait for
 *   changes that already happened. A lower index resets to 0: the next query
 *   does not block and fetches the whole answer.
 * - **Never block below 1.** An index of 0 from the server (a Consul bug that
 *   old versions have) becomes 1; a query sent with index 0 returns at once,
 *   which would turn the watch into a busy loop.
 * - A header that is missing or not a decimal integer gives `undefined`: the
 *   answer cannot be blocked on, and the resolver polls instead.
 *
 * The third rule of the docs, rate-limiting the loop, is the refresh loop's
 * `minIntervalMs`. Indexes are unsigned 64-bit integers: kept as bigints.
 *
 * @param held the index held (0n when none).
 * @param header the answer's `X-Consul-Index` header.
 * @returns the index to hold next, or `undefined` when the answer gave none.
 */
export function nextConsulIndex(held: bigint, header: string | null): bigint | undefined {
  if (header === null || !/^\d{1,20}$/.test(header.trim())) return undefined;
  const index = BigInt(header.trim());
  if (index < held) return 0n;
  return index < 1n ? 1n : index;
}
