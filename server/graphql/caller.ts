/**
 * A GraphQL field's SQL run as the caller: the request's pgSettings (role, JWT claims, from grafserv's context)
 * and the field's statements in one transaction and one round trip (core/database/caller.ts), the same mechanism
 * as the REST routes. Like sideEffectWithPgClient, without its begin / set_config / commit round trips.
 */
import { context, sideEffect, type Step } from "postgraphile/grafast";
import type { AsCaller, RunAsCaller } from "../../core/database/caller.ts";

export function sideEffectAsCaller<I, T>(asCaller: AsCaller, $input: Step, fn: (input: I, run: RunAsCaller) => Promise<T>): Step<T> {
  return sideEffect([$input, context().get("pgSettings")], ([input, pgSettings]) =>
    fn(input as I, (statements) => asCaller(pgSettings as Parameters<AsCaller>[0], statements)),
  );
}
