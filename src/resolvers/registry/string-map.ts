import { isObject } from "./instances.js";

/**
 * The string values of a registry's free-form map (Eureka's `metadata`,
 * Kubernetes' `labels`) as endpoint metadata: own keys only, non-string
 * values and the keys in `skip` left out (Eureka's `"@class"` marker), and
 * `__proto__` kept as a plain key. `undefined` when nothing is left.
 */
export function stringMap(value: unknown, skip?: ReadonlySet<string>): Record<string, string> | undefined {
  if (!isObject(value)) return undefined;
  let out: Record<string, string> | undefined;
  for (const key of Object.keys(value)) {
    const entry = value[key];
    if (typeof entry !== "string" || skip?.has(key) === true) continue;
    out ??= {};
    if (key === "__proto__") Object.defineProperty(out, key, { value: entry, enumerable: true, writable: true });
    else out[key] = entry;
  }
  return out;
}
