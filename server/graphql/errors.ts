import { AsyncLocalStorage } from "node:async_hooks";
import { isSafeError } from "postgraphile/grafast";
import { GraphQLError } from "postgraphile/graphql";
import { ApiError, toApiError, type ErrorCode } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";

/**
 * grafast marks its planning and execution timeouts (preset.grafast.timeouts) with a symbol it does not export:
 * the planning one carries the limit in milliseconds, the execution one `true`.
 */
function grafastTimeout(extensions: Record<PropertyKey, unknown> | undefined): ErrorCode | undefined {
  if (!extensions) return undefined;
  const mark = Object.getOwnPropertySymbols(extensions).find((symbol) => symbol.description === "timeout");
  if (mark === undefined) return undefined;
  return typeof extensions[mark] === "number" ? "QUERY_TOO_COMPLEX" : "TIMEOUT";
}

/**
 * Refusals that PostGraphile and grafast raise as plain errors, with no code to read: the planner's depth limit
 * (the validation rules in limits.ts refuse deep queries before it, so this is the backstop) and a delete or
 * update that matched no row the caller may write (a row RLS hides reads as not found). Each is a refusal; only
 * their 4xx code depends on the words, never whether the request went through.
 */
const PLAIN_REFUSALS: [RegExp, ErrorCode, string][] = [
  [/^Query is too complex, Grafast refuses to continue processing at planning depth/, "QUERY_TOO_COMPLEX", "the query is nested too deeply"],
  [/^No values were (deleted|updated) in collection '[^']*' because no values you can (delete|update) were found/, "NOT_FOUND", "no such row, or not one you may change"],
];

const INVALID_CURSOR = /^Invalid cursor\b/;

function plainRefusal(error: Error): ApiError | undefined {
  for (const [pattern, code, message] of PLAIN_REFUSALS) {
    if (pattern.test(error.message)) return new ApiError(code, message, { cause: error });
  }
  return undefined;
}

/**
 * Whether the GraphQL request being answered acts as anon (no JWT, or Supabase's anon key), set by the HTTP edge
 * (edge.ts) around grafserv. Postgres refuses anon a member's function by its grants (42501, insufficient
 * privilege), before the function's own "sign in to …" check could run; for anon that refusal is UNAUTHENTICATED,
 * as the REST routes answer it, not INSUFFICIENT_CLEARANCE (a rank that is too low). The refusal itself is the
 * database's; only its code follows who asked.
 */
export const anonymousRequest = new AsyncLocalStorage<boolean>();

/**
 * grafserv's maskError: every error leaves with a stable extensions.code. Database rule violations keep their
 * human message; anything unexpected is logged in full and shown as INTERNAL with an id to find it in the log.
 * What a client caused (a bad value, a refusal, a timeout of its query) is not logged here at all.
 */
export function makeMaskError(log: Logger) {
  return (error: GraphQLError): GraphQLError => {
    const original = error.originalError;
    if (!original || original instanceof GraphQLError) return error;
    const shape = { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, originalError: original };
    if (isSafeError(original)) {
      const timeout = grafastTimeout(original.extensions as Record<PropertyKey, unknown> | undefined);
      if (timeout) return new GraphQLError(original.message, { ...shape, extensions: { code: timeout } });
      // A cursor the client made up (or one from another connection): PostGraphile says so, with no code.
      if (INVALID_CURSOR.test(original.message) && (original.extensions as { code?: unknown } | undefined)?.code === undefined) {
        return new GraphQLError(original.message, { ...shape, extensions: { code: "BAD_REQUEST" } });
      }
      return new GraphQLError(original.message, { ...shape, extensions: { code: "INTERNAL", ...original.extensions } });
    }
    let apiError = plainRefusal(original) ?? toApiError(original);
    if ((original as { code?: unknown }).code === "42501" && anonymousRequest.getStore() === true) {
      apiError = new ApiError("UNAUTHENTICATED", "sign in first: this needs a signed-in member", { cause: original });
    }
    const extensions: Record<string, unknown> = { code: apiError.code };
    // The REST edge sends this as the Retry-After header; a GraphQL response has one status for many fields.
    if (apiError.retryAfterSeconds !== undefined) extensions.retryAfter = Math.ceil(apiError.retryAfterSeconds);
    if (apiError.code === "INTERNAL" || apiError.code === "UNAVAILABLE") {
      const errorId = Math.random().toString(36).slice(2, 12);
      extensions.errorId = errorId;
      log.error({ err: original, errorId, path: error.path }, "graphql request failed");
    } else if (apiError.code === "TIMEOUT") {
      log.warn({ path: error.path }, "graphql statement timed out (STATEMENT_TIMEOUT_MS)");
    }
    return new GraphQLError(apiError.message, { ...shape, extensions });
  };
}
