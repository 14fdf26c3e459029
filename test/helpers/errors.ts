import { SwitchyardError } from "../../src/index.js";

/** The error `fn` throws (fails the test when it returns). */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a throw");
}

/**
 * Runs `call`: true when it returned, false when it threw a SwitchyardError
 * with a stable `ERR_` code; anything else it throws (a TypeError) is
 * rethrown, failing the property that called it.
 */
export function worksOrTypedError(call: () => unknown): boolean {
  try {
    call();
    return true;
  } catch (e) {
    if (e instanceof SwitchyardError && typeof e.code === "string" && e.code.startsWith("ERR_")) return false;
    throw e;
  }
}
