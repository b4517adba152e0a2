// Expectations on failures: what a call that must fail answered, in a shape tests compare with toEqual.
import { Effect } from "effect"

/**
 * The protocol error of a call that must fail: its code and, for FORBIDDEN, the permission named. A
 * call that succeeds fails the test (with its result as the error).
 */
export const failure = <A, E>(call: Effect.Effect<A, E>) =>
  Effect.map(Effect.flip(call), (e: any) => ({
    code: e.code as string,
    ...(e.missing_permission === undefined ? {} : { missing: e.missing_permission as string })
  }))
