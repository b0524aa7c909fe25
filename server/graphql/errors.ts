import { isSafeError } from "postgraphile/grafast";
import { GraphQLError } from "postgraphile/graphql";
import { toApiError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";

/**
 * grafserv's maskError: every error leaves with a stable extensions.code. Database rule violations keep their
 * human message; anything unexpected is logged in full and shown as INTERNAL with an id to find it in the log.
 */
export function makeMaskError(log: Logger) {
  return (error: GraphQLError): GraphQLError => {
    const original = error.originalError;
    if (!original || original instanceof GraphQLError) return error;
    if (isSafeError(original)) {
      return new GraphQLError(original.message, {
        nodes: error.nodes,
        source: error.source,
        positions: error.positions,
        path: error.path,
        originalError: original,
        extensions: { code: "INTERNAL", ...original.extensions },
      });
    }
    const apiError = toApiError(original);
    const extensions: Record<string, unknown> = { code: apiError.code };
    // The REST edge sends this as the Retry-After header; a GraphQL response has one status for many fields.
    if (apiError.retryAfterSeconds !== undefined) extensions.retryAfter = Math.ceil(apiError.retryAfterSeconds);
    if (apiError.code === "INTERNAL" || apiError.code === "UNAVAILABLE") {
      const errorId = Math.random().toString(36).slice(2, 12);
      extensions.errorId = errorId;
      log.error({ err: original, errorId, path: error.path }, "graphql request failed");
    }
    return new GraphQLError(apiError.message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      originalError: original,
      extensions,
    });
  };
}
