/**
 * What one GraphQL request may cost, refused before planning or SQL with QUERY_TOO_COMPLEX (HTTP 400) in
 * milliseconds: how deep it nests, how many aliases and how much it selects (graphql-armor's maintained
 * validation rules), how large a page it asks for (`first`/`last` at most MAX_PAGE_SIZE; a negative one is
 * BAD_REQUEST), and at most one credential field (authenticate, register) per request, however it is spelt:
 * aliases, fragments and inline fragments all count, so one request is one password guess.
 *
 * Validation rules run once per distinct document (grafserv caches the result), so limits on literals cost
 * nothing on repeat requests. `first`/`last` given as variables are checked when the operation executes, against
 * a per-document list of the variables that feed them.
 *
 * Behind these: grafast's planning and execution timeouts (preset.ts) and the per-request statement_timeout
 * (STATEMENT_TIMEOUT_MS), which ends any SQL statement that still runs too long.
 */
import { costLimitRule } from "@escape.tech/graphql-armor-cost-limit";
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import type { Result } from "postgraphile/grafserv";
import { SafeError } from "postgraphile/grafast";
import {
  GraphQLError,
  Kind,
  visit,
  type ASTVisitor,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from "postgraphile/graphql";
import type { ErrorCode } from "../../core/errors.ts";

/** Deepest selection (`{ a { b } }` is 2): PostGraphile's deepest useful nesting with a connection at each level is 8. */
export const MAX_DEPTH = 10;
/** Aliased fields per operation (`__typename` not counted). */
export const MAX_ALIASES = 20;
/** graphql-armor's cost (objects 2, leaves 1, ×1.5 per level, × a literal first/last): a page of 1000 rows is ~7500. */
export const MAX_COST = 20_000;
/** Rows one connection may be asked for. */
export const MAX_PAGE_SIZE = 1000;
/** Bytes of one request: an HTTP body (413 past it) and a WebSocket message (closed with 1009 past it). */
export const MAX_REQUEST_BYTES = 100_000;
/** Mutations that check a password or create an account: one per request. */
export const CREDENTIAL_FIELDS: readonly string[] = ["authenticate", "register"];

const PAGE_ARGUMENTS = new Set(["first", "last"]);

function refusal(code: ErrorCode, message: string, node?: import("postgraphile/graphql").ASTNode): GraphQLError {
  return new GraphQLError(message, { nodes: node ? [node] : undefined, extensions: { code } });
}

/** graphql-armor reports through onReject; its own error (prefixed "Syntax Error") is replaced by ours. */
function armorOptions() {
  return {
    propagateOnRejection: false,
    exposeLimits: true,
    onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(refusal("QUERY_TOO_COMPLEX", error.message.replace(/^Syntax Error: /, "")))],
  };
}

/** The fields a selection set selects on its own type, through inline fragments and fragment spreads (each once). */
function* rootFields(
  selectionSet: SelectionSetNode,
  fragments: (name: string) => FragmentDefinitionNode | null | undefined,
  seen = new Set<string>(),
): Generator<FieldNode> {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) yield selection;
    else if (selection.kind === Kind.INLINE_FRAGMENT) yield* rootFields(selection.selectionSet, fragments, seen);
    else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = fragments(selection.name.value);
      if (fragment) yield* rootFields(fragment.selectionSet, fragments, seen);
    }
  }
}

/** At most one authenticate/register field in an operation, counting aliases and fragments. */
const oneCredentialField: ValidationRule = (context): ASTVisitor => ({
  OperationDefinition(operation) {
    if (operation.operation !== "mutation") return;
    const credential = [...rootFields(operation.selectionSet, (name) => context.getFragment(name))].filter((field) =>
      CREDENTIAL_FIELDS.includes(field.name.value),
    );
    if (credential.length > 1) {
      context.reportError(
        refusal("QUERY_TOO_COMPLEX", `at most one ${CREDENTIAL_FIELDS.join(" or ")} field per request; this one has ${credential.length}`, credential[1]),
      );
    }
  },
});

function pageSizeProblem(name: string, value: number): { code: ErrorCode; message: string } | null {
  if (!Number.isSafeInteger(value) || value < 0) return { code: "BAD_REQUEST", message: `${name} must be a whole number, 0 or more` };
  if (value > MAX_PAGE_SIZE) return { code: "QUERY_TOO_COMPLEX", message: `${name} may be at most ${MAX_PAGE_SIZE}` };
  return null;
}

/** `first`/`last` literals within 0…MAX_PAGE_SIZE. */
const pageSizeLiterals: ValidationRule = (context): ASTVisitor => ({
  Argument(argument) {
    if (!PAGE_ARGUMENTS.has(argument.name.value) || argument.value.kind !== Kind.INT) return;
    const problem = pageSizeProblem(argument.name.value, Number(argument.value.value));
    if (problem) context.reportError(refusal(problem.code, problem.message, argument));
  },
});

export const VALIDATION_RULES: readonly ValidationRule[] = [
  maxDepthRule({ n: MAX_DEPTH, ignoreIntrospection: true, ...armorOptions() }),
  maxAliasesRule({ n: MAX_ALIASES, ...armorOptions() }),
  costLimitRule({ maxCost: MAX_COST, ignoreIntrospection: true, ...armorOptions() }),
  oneCredentialField,
  pageSizeLiterals,
];

/** Per document (grafserv hands out the same parsed DocumentNode for the same text): variables used as first/last. */
const pageVariables = new WeakMap<DocumentNode, Map<string, string>>();

function pageVariablesOf(document: DocumentNode): Map<string, string> {
  let found = pageVariables.get(document);
  if (!found) {
    const names = new Map<string, string>();
    visit(document, {
      Argument(argument) {
        if (PAGE_ARGUMENTS.has(argument.name.value) && argument.value.kind === Kind.VARIABLE) names.set(argument.value.name.value, argument.name.value);
      },
    });
    found = names;
    pageVariables.set(document, found);
  }
  return found;
}

/** The variables' page sizes, as the same refusal a literal would get; null when they are fine. */
function pageVariableRefusal(document: DocumentNode, variables: Record<string, unknown> | null | undefined): GraphQLError | null {
  for (const [variable, argument] of pageVariablesOf(document)) {
    const value = variables?.[variable];
    if (value === undefined || value === null || typeof value !== "number") continue;
    const problem = pageSizeProblem(argument, value);
    if (problem) return refusal(problem.code, `${problem.message} ($${variable} is ${value})`);
  }
  return null;
}

const REFUSAL_STATUS = new Set(["QUERY_TOO_COMPLEX", "BAD_REQUEST"]);

/**
 * A response made only of our refusals (no data: validation failed, or the execute check refused) is HTTP 400,
 * whatever media type the client accepts. graphql-over-HTTP's legacy application/json answers validation errors
 * with 200; our routes answer a refused request with 400 everywhere.
 */
function refusedStatus(result: Result | null): void {
  if (!result || result.statusCode !== 200) return;
  let payload: unknown;
  if (result.type === "json") payload = result.json;
  else if (result.type === "buffer" && result.buffer.length < 65_536 && result.buffer.subarray(0, 10).toString() === '{"errors":') {
    try {
      payload = JSON.parse(result.buffer.toString("utf8"));
    } catch {
      return;
    }
  } else return;
  const body = payload as { data?: unknown; errors?: { extensions?: { code?: unknown } }[] } | null;
  if (!body || "data" in body || !Array.isArray(body.errors) || body.errors.length === 0) return;
  if (body.errors.every((e) => REFUSAL_STATUS.has(String(e.extensions?.code)))) result.statusCode = 400;
}

/** grafserv's own request refusals (unparsable body, persisted operation missing) with a code, like ours. */
function withCode(error: unknown): never {
  if (error instanceof SafeError) {
    const extensions = (error.extensions ?? {}) as Record<string, unknown>;
    const status = Number(extensions.statusCode);
    if (status >= 400 && status < 500 && extensions.code === undefined) {
      throw new SafeError(error.message, { ...extensions, code: status === 405 ? "METHOD_NOT_ALLOWED" : "BAD_REQUEST" });
    }
  }
  throw error;
}

/**
 * grafast's execution timeout (no new step starts past it) for queries and mutations only. It is not set in the
 * preset because a subscription's later events run with the stop time of the subscribe request, so a timeout
 * there would end every subscription after that long; instead each execute gets a preset with it.
 */
function withExecutionTimeout(timeoutMs: number) {
  const timed = new WeakMap<GraphileConfig.ResolvedPreset, GraphileConfig.ResolvedPreset>();
  return (preset: GraphileConfig.ResolvedPreset | undefined): GraphileConfig.ResolvedPreset | undefined => {
    if (!preset) return preset;
    let found = timed.get(preset);
    if (!found) {
      found = { ...preset, grafast: { ...preset.grafast, timeouts: { ...preset.grafast?.timeouts, execution: timeoutMs } } };
      timed.set(preset, found);
    }
    return found;
  };
}

/** The limits as a plugin; `executionTimeoutMs` is STATEMENT_TIMEOUT_MS. */
export function queryLimitsPlugin(executionTimeoutMs: number): GraphileConfig.Plugin {
  const timed = withExecutionTimeout(executionTimeoutMs);
  return {
    name: "NexusQueryLimitsPlugin",
    version: "1.0.0",
    description: "Depth, alias, cost, page-size and one-credential-per-request limits (QUERY_TOO_COMPLEX).",
    grafserv: {
      middleware: {
        setPreset(next, dynamicOptions) {
          dynamicOptions.validationRules.push(...VALIDATION_RULES);
          return next();
        },
        processGraphQLRequestBody(next) {
          try {
            const result = next();
            return result && typeof (result as Promise<void>).then === "function" ? (result as Promise<void>).catch(withCode) : result;
          } catch (error) {
            withCode(error);
          }
        },
        async processRequest(next) {
          const result = await next();
          refusedStatus(result);
          return result;
        },
      },
    },
    grafast: {
      middleware: {
        execute(next, event) {
          const refused = pageVariableRefusal(event.args.document, event.args.variableValues as Record<string, unknown> | undefined);
          if (refused) return { errors: [refused] };
          event.args.resolvedPreset = timed(event.args.resolvedPreset);
          return next();
        },
        subscribe(next, event) {
          const refused = pageVariableRefusal(event.args.document, event.args.variableValues as Record<string, unknown> | undefined);
          return refused ? { errors: [refused] } : next();
        },
      },
    },
  };
}
