/**
 * What one GraphQL request may cost, refused before planning or SQL with QUERY_TOO_COMPLEX (HTTP 400) in
 * milliseconds: how deep it nests and how many aliases it has (graphql-armor's maintained validation rules), how
 * many introspection roots it asks for and how large their answer would be (at the schema's real sizes), at most
 * one credential field (authenticate, register) per request, however it is spelt (aliases, fragments and inline
 * fragments all count, so one request is one password guess), how large a page it asks for (`first`/`last` at
 * most MAX_PAGE_SIZE; a negative one is BAD_REQUEST) and how much it selects in all (the cost, graphql-armor's
 * formula with each page's real size, each `totalCount` and each row an `offset` skips).
 *
 * Before all of these, what parsing and validating a document may cost, since an attacker makes each document
 * distinct: at most MAX_TOKENS tokens (counted before parsing), and at most MAX_OVERLAP_PAIRS pairs of same-named
 * selections for graphql-js's OverlappingFieldsCanBeMerged to compare (boundedOverlap, which replaces that rule).
 *
 * Validation rules run once per distinct document (grafserv caches the result). Page sizes and the cost are
 * checked when the operation executes, on the coerced variable values (a variable's default included), so
 * `first: $n` is held to the same limits as `first: 1000`. A connection or list asked for without `first` or
 * `last` returns DEFAULT_PAGE_SIZE rows (the schema plugin below sets it in the plan), and is costed at that.
 *
 * Behind these: grafast's planning and execution timeouts (preset.ts) and the per-request statement_timeout
 * (STATEMENT_TIMEOUT_MS), which ends any SQL statement that still runs too long.
 */
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import type { Result } from "postgraphile/grafserv";
import { constant, lambda, SafeError, type FieldArgs, type GrafastFieldConfig, type Step } from "postgraphile/grafast";
import {
  getIntrospectionQuery,
  getNamedType,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isUnionType,
  isWrappingType,
  Kind,
  Lexer,
  OverlappingFieldsCanBeMergedRule,
  parse,
  Source,
  TokenKind,
  valueFromAST,
  visit,
  type ASTNode,
  type ASTVisitor,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type GraphQLType,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from "postgraphile/graphql";
import type { ErrorCode } from "../../core/errors.ts";

/** Deepest selection (`{ a { b } }` is 2): PostGraphile's deepest useful nesting with a connection at each level is 8. */
export const MAX_DEPTH = 10;
/** Aliased fields per operation (`__typename` not counted). */
export const MAX_ALIASES = 20;
/**
 * graphql-armor's cost formula (objects 2, leaves 1, ×1.5 per level, × the page size of a connection or list): a
 * page of 1000 rows of six columns is 18 500, a default page of them 1850.
 */
export const MAX_COST = 20_000;
/**
 * What a connection's `totalCount` costs, once per connection whatever its page: it counts every row the caller
 * may see (the whole table under its row-level policy), so it is costed as that many rows read, not as a leaf.
 * Two on the /ops page's poll; about six per request at most.
 */
export const TOTAL_COUNT_COST = 2000;
/** What each row an `offset` skips costs (a leaf's cost): skipped rows are read and checked like returned ones. */
export const SKIPPED_ROW_COST = 1;
/** Rows one connection or list may be asked for. */
export const MAX_PAGE_SIZE = 1000;
/**
 * Rows a connection or list returns when asked for without `first` or `last` (its `pageInfo` says whether there
 * are more). Small enough that a few such lists side by side (the /ops page polls five) stay within MAX_COST.
 */
export const DEFAULT_PAGE_SIZE = 100;
/**
 * Introspection roots per operation. Introspection is exempt from the depth rule (the standard introspection
 * query nests TypeRef a dozen levels deep) and from the cost, so it is bounded by count: one `__schema` (what
 * GraphiQL, Ruru and codegen send), a few `__type`; and by its size (MAX_INTROSPECTION_SIZE).
 */
export const MAX_INTROSPECTION_FIELDS: Readonly<Record<"__schema" | "__type", number>> = { __schema: 1, __type: 5 };
/**
 * How much introspection one operation may ask for, as a multiple of the complete standard introspection query
 * (graphql-js's getIntrospectionQuery with every option on) on this schema: values in the answer, counted at the
 * schema's real sizes (introspectionSize). Twice leaves room for a tool's own variant of the standard query and a
 * few `__type` lookups beside it; the review's 20 aliased `fields` blocks ask for about 20 times as much.
 */
export const MAX_INTROSPECTION_SIZE = 2;
/** Bytes of one request: an HTTP body (413 past it) and a WebSocket message (closed with 1009 past it). */
export const MAX_REQUEST_BYTES = 100_000;
/**
 * Tokens (names, punctuation, values) in one document, counted before it is parsed: parsing and validating are
 * linear in them, so this bounds what a document can cost before any rule below has seen it; a string counts one
 * more for each 64 characters. About ten times the complete standard introspection query (184).
 */
export const MAX_TOKENS = 2000;
/**
 * Pairs of selections under one response name that graphql-js's OverlappingFieldsCanBeMerged would compare (see
 * boundedOverlap): `{ a { x } a { y } }` is one pair, a leaf pair (`id id`) counts 1/32 of one, as it is that much
 * cheaper. The standard introspection query has none; a document with a field repeated by a few fragments, a few.
 */
export const MAX_OVERLAP_PAIRS = 2000;
/** Fields a document expands to through its fragments (each spread counted where it is spread). */
const MAX_EXPANDED_FIELDS = 20_000;
/**
 * Root fields an operation may hold at most one of, whatever their aliases and fragments: one request is one
 * password guess (the sign-in limits count requests), and one voice token decision (issueVoiceTokens takes up to
 * 100 nets at once; twenty aliases of it made one request look up 2000 nets, uncharged where refused).
 */
export const ONE_PER_REQUEST: readonly (readonly string[])[] = [
  ["authenticate", "register"],
  ["issueVoiceToken", "issueVoiceTokens"],
];

const OBJECT_COST = 2;
const LEAF_COST = 1;
const DEPTH_COST_FACTOR = 1.5;

function refusal(code: ErrorCode, message: string, node?: ASTNode): GraphQLError {
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

/** At most one field of each ONE_PER_REQUEST group in an operation, counting aliases and fragments. */
const onePerRequest: ValidationRule = (context): ASTVisitor => ({
  OperationDefinition(operation) {
    if (operation.operation !== "mutation") return;
    const fields = [...rootFields(operation.selectionSet, (name) => context.getFragment(name))];
    for (const group of ONE_PER_REQUEST) {
      const found = fields.filter((field) => group.includes(field.name.value));
      if (found.length > 1) {
        context.reportError(refusal("QUERY_TOO_COMPLEX", `at most one ${group.join(" or ")} field per request; this one has ${found.length}`, found[1]));
      }
    }
  },
});

/**
 * What the schema's introspection lists hold: each list's length when every item of its parent is asked for (the
 * types of `__schema { types }`, every field of them, every directive: there the product of the averages is the
 * real total) and its longest anywhere else (`__type(name:)`, a field's type, `ofType`: the asker picks the type).
 */
interface ListSizes {
  every: number;
  longest: number;
}
interface SchemaSizes {
  types: number;
  directives: number;
  /** Per __Type list field (fields, inputFields, enumValues, interfaces, possibleTypes), and args per field. */
  ofType: Record<string, ListSizes>;
  fieldArgs: ListSizes;
  directiveArgs: ListSizes;
  locations: number;
  /** The most wrappers (non-null, list) around any field's, argument's or input field's type: `[X!]!` is 3. */
  wrapping: number;
  /** Values in the answer to the complete standard introspection query. */
  standard: number;
}

/** Where an introspection object was reached: as one of all the schema's types, fields or directives, or any. */
type IntrospectionPlace = "everyType" | "everyField" | "everyDirective" | "any";

function listSizes(lengths: number[], of: number): ListSizes {
  return { every: lengths.reduce((sum, n) => sum + n, 0) / Math.max(of, 1), longest: Math.max(0, ...lengths) };
}

/** The length of an introspection list field and where its items are reached, for an object reached at `place`. */
function introspectionList(sizes: SchemaSizes, parent: string, field: string, place: IntrospectionPlace): { rows: number; place: IntrospectionPlace } {
  const pick = (list: ListSizes, every: boolean) => (every ? list.every : list.longest);
  if (parent === "__Schema" && field === "types") return { rows: sizes.types, place: "everyType" };
  if (parent === "__Schema" && field === "directives") return { rows: sizes.directives, place: "everyDirective" };
  if (parent === "__Type" && sizes.ofType[field]) return { rows: pick(sizes.ofType[field], place === "everyType"), place: place === "everyType" && field === "fields" ? "everyField" : "any" };
  if (parent === "__Field" && field === "args") return { rows: pick(sizes.fieldArgs, place === "everyField"), place: "any" };
  if (parent === "__Directive" && field === "args") return { rows: pick(sizes.directiveArgs, place === "everyDirective"), place: "any" };
  if (parent === "__Directive" && field === "locations") return { rows: sizes.locations, place: "any" };
  return { rows: 1, place: "any" };
}

/**
 * Values in the answer to an introspection selection (each object and each leaf one, a list × its length), at the
 * schema's real sizes; `wrapped` is how many `ofType` lead here from a field's type (past the schema's deepest
 * wrapping, `ofType` is null). Fragment spreads count each time they appear; the first alias is recorded (the
 * rule refuses aliases inside introspection).
 */
function introspectionSize(walk: IntrospectionWalk, selectionSet: SelectionSetNode, parent: string, place: IntrospectionPlace, wrapped: number): number {
  let size = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.INLINE_FRAGMENT) size += introspectionSize(walk, selection.selectionSet, parent, place, wrapped);
    else if (selection.kind === Kind.FRAGMENT_SPREAD) {
      const key = `${selection.name.value}@${parent}@${place}@${wrapped}`;
      let inFragment = walk.sizeCache.get(key);
      if (inFragment === undefined) {
        // A fragment cycle is NoFragmentCyclesRule's to refuse; the placeholder only keeps the walk finite.
        walk.sizeCache.set(key, 0);
        const fragment = walk.fragments(selection.name.value);
        inFragment = fragment ? introspectionSize(walk, fragment.selectionSet, parent, place, wrapped) : 0;
        walk.sizeCache.set(key, inFragment);
      }
      size += inFragment;
    } else {
      const name = selection.name.value;
      if (selection.alias && selection.alias.value !== name) walk.aliased ??= selection;
      const list = introspectionList(walk.sizes, parent, name, place);
      const child = selection.selectionSet ? INTROSPECTION_FIELD_TYPES[`${parent}.${name}`] : undefined;
      const depth = name === "ofType" ? wrapped + 1 : 0;
      // An ofType deeper than any type in the schema is wrapped is null: one value, nothing inside.
      const inside = selection.selectionSet && child && depth <= walk.sizes.wrapping ? introspectionSize(walk, selection.selectionSet, child, list.place, depth) : 0;
      size += list.rows * (1 + inside);
    }
  }
  return size;
}

/** The introspection type of each introspection field with a selection set. */
const INTROSPECTION_FIELD_TYPES: Readonly<Record<string, string>> = {
  "__Schema.types": "__Type",
  "__Schema.queryType": "__Type",
  "__Schema.mutationType": "__Type",
  "__Schema.subscriptionType": "__Type",
  "__Schema.directives": "__Directive",
  "__Type.fields": "__Field",
  "__Type.interfaces": "__Type",
  "__Type.possibleTypes": "__Type",
  "__Type.enumValues": "__EnumValue",
  "__Type.inputFields": "__InputValue",
  "__Type.ofType": "__Type",
  "__Field.args": "__InputValue",
  "__Field.type": "__Type",
  "__InputValue.type": "__Type",
  "__Directive.args": "__InputValue",
};

/** The complete standard introspection query: what MAX_INTROSPECTION_SIZE is a multiple of. */
export const STANDARD_INTROSPECTION = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
  oneOf: true,
});

/** How many non-null and list wrappers a type has. */
function wrappers(type: GraphQLType): number {
  let count = 0;
  for (let at = type; isWrappingType(at); at = at.ofType) count += 1;
  return count;
}

const schemaSizes = new WeakMap<GraphQLSchema, SchemaSizes>();

function sizesOf(schema: GraphQLSchema): SchemaSizes {
  let sizes = schemaSizes.get(schema);
  if (sizes) return sizes;
  const types = Object.values(schema.getTypeMap());
  const fields = types.flatMap((type) => (isObjectType(type) || isInterfaceType(type) ? Object.values(type.getFields()) : []));
  const directives = schema.getDirectives();
  const lengths = (of: (type: GraphQLNamedType) => number) => listSizes(types.map(of), types.length);
  sizes = {
    types: types.length,
    directives: directives.length,
    ofType: {
      fields: lengths((type) => (isObjectType(type) || isInterfaceType(type) ? Object.keys(type.getFields()).length : 0)),
      inputFields: lengths((type) => (isInputObjectType(type) ? Object.keys(type.getFields()).length : 0)),
      enumValues: lengths((type) => (isEnumType(type) ? type.getValues().length : 0)),
      interfaces: lengths((type) => (isObjectType(type) || isInterfaceType(type) ? type.getInterfaces().length : 0)),
      possibleTypes: lengths((type) => (isInterfaceType(type) || isUnionType(type) ? schema.getPossibleTypes(type).length : 0)),
    },
    fieldArgs: listSizes(fields.map((field) => field.args.length), fields.length),
    directiveArgs: listSizes(directives.map((directive) => directive.args.length), directives.length),
    locations: Math.max(0, ...directives.map((directive) => directive.locations.length)),
    wrapping: Math.max(
      0,
      ...[...fields, ...fields.flatMap((field) => field.args), ...directives.flatMap((directive) => directive.args)].map((value) => wrappers(value.type)),
      ...types.flatMap((type) => (isInputObjectType(type) ? Object.values(type.getFields()).map((field) => wrappers(field.type)) : [])),
    ),
    standard: 0,
  };
  const standard = parse(STANDARD_INTROSPECTION);
  const fragments = new Map(standard.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  sizes.standard = introspectionOf(introspectionWalk(sizes, (name) => fragments.get(name)), getOperationAST(standard)!.selectionSet).size;
  schemaSizes.set(schema, sizes);
  return sizes;
}

/** The `__schema` and `__type` fields of an operation, and the values their answers hold (introspectionSize). */
type IntrospectionFound = Record<keyof typeof MAX_INTROSPECTION_FIELDS | "size", number>;

/** One document's fragments, and what was found in each (reused each time it is spread). */
interface IntrospectionWalk {
  sizes: SchemaSizes;
  fragments: (name: string) => FragmentDefinitionNode | null | undefined;
  ofFragment: Map<string, IntrospectionFound>;
  sizeCache: Map<string, number>;
  /** The first aliased field inside an introspection selection. */
  aliased: FieldNode | null;
}

/**
 * `__schema` and `__type` fields in a selection set, wherever they are (PostGraphile's `query` field re-enters
 * Query) and as often as a fragment holding one is spread, with the size of each one's answer.
 */
function introspectionIn(walk: IntrospectionWalk, selectionSet: SelectionSetNode, into: IntrospectionFound, visiting: Set<string>): void {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      const name = selection.name.value;
      if (name === "__schema" || name === "__type") {
        into[name] += 1;
        into.size += 1 + (selection.selectionSet ? introspectionSize(walk, selection.selectionSet, name === "__schema" ? "__Schema" : "__Type", "any", 0) : 0);
      } else if (selection.selectionSet) introspectionIn(walk, selection.selectionSet, into, visiting);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) introspectionIn(walk, selection.selectionSet, into, visiting);
    else {
      const name = selection.name.value;
      // A fragment cycle is NoFragmentCyclesRule's to refuse; here it counts nothing more.
      if (visiting.has(name)) continue;
      let inFragment = walk.ofFragment.get(name);
      if (!inFragment) {
        inFragment = { __schema: 0, __type: 0, size: 0 };
        const fragment = walk.fragments(name);
        if (fragment) introspectionIn(walk, fragment.selectionSet, inFragment, new Set(visiting).add(name));
        walk.ofFragment.set(name, inFragment);
      }
      into.__schema += inFragment.__schema;
      into.__type += inFragment.__type;
      into.size += inFragment.size;
    }
  }
}

function introspectionWalk(sizes: SchemaSizes, fragments: IntrospectionWalk["fragments"]): IntrospectionWalk {
  return { sizes, fragments, ofFragment: new Map(), sizeCache: new Map(), aliased: null };
}

function introspectionOf(walk: IntrospectionWalk, selectionSet: SelectionSetNode): IntrospectionFound {
  const found: IntrospectionFound = { __schema: 0, __type: 0, size: 0 };
  introspectionIn(walk, selectionSet, found, new Set());
  return found;
}

/** Introspection bounded by count (MAX_INTROSPECTION_FIELDS) and by size (MAX_INTROSPECTION_SIZE). */
const introspectionBounded: ValidationRule = (context): ASTVisitor => {
  const sizes = sizesOf(context.getSchema());
  const walk = introspectionWalk(sizes, (name) => context.getFragment(name));
  return {
    OperationDefinition(operation) {
      const found = introspectionOf(walk, operation.selectionSet);
      for (const field of ["__schema", "__type"] as const) {
        if (found[field] > MAX_INTROSPECTION_FIELDS[field]) {
          context.reportError(
            refusal("QUERY_TOO_COMPLEX", `at most ${MAX_INTROSPECTION_FIELDS[field]} ${field} field(s) per operation; this one has ${found[field]}`, operation),
          );
        }
      }
      const limit = MAX_INTROSPECTION_SIZE * sizes.standard;
      // One refusal for introspection: too many roots, then an alias inside, then the size.
      const counted = found.__schema <= MAX_INTROSPECTION_FIELDS.__schema && found.__type <= MAX_INTROSPECTION_FIELDS.__type;
      if (counted && walk.aliased) {
        // Per document (validation refuses a document whole): reported once.
        const alias = walk.aliased;
        walk.aliased = null;
        context.reportError(
          refusal("QUERY_TOO_COMPLEX", `aliases inside __schema and __type are refused (each would be another copy of the schema); this one has ${alias.alias!.value}: ${alias.name.value}`, alias),
        );
      } else if (counted && found.size > limit) {
        context.reportError(
          refusal(
            "QUERY_TOO_COMPLEX",
            `introspection limit of ${Math.round(limit)} values (${MAX_INTROSPECTION_SIZE} times the standard introspection query) exceeded, found ${Math.round(found.size)}; ask for the schema once, without aliases`,
            operation,
          ),
        );
      }
    },
  };
};

/**
 * The document's tokens, refused past MAX_TOKENS before it is parsed (over HTTP and graphql-ws alike: grafserv runs
 * processGraphQLRequestBody on both). Counting stops at the first token over; a lexing error is left to the parser,
 * which reports it as ever.
 */
export function tokenRefusal(query: unknown): SafeError | undefined {
  if (typeof query !== "string" || query.length < MAX_TOKENS) return undefined;
  const lexer = new Lexer(new Source(query));
  try {
    for (let tokens = 0, token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      // A string is one token of any length, and graphql-js compares arguments by their text: each 64 characters
      // of a string count as one more token.
      tokens += 1 + (token.kind === TokenKind.STRING || token.kind === TokenKind.BLOCK_STRING ? Math.floor((token.end - token.start) / 64) : 0);
      if (tokens > MAX_TOKENS) {
        return new SafeError(`the document has more than ${MAX_TOKENS} tokens: send a smaller one`, { statusCode: 400, code: "QUERY_TOO_COMPLEX" });
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * How many pairs graphql-js's OverlappingFieldsCanBeMerged compares, or more than `budget`. The rule compares every
 * pair of selections that share a response name in one selection set, and for each pair with sub-selections, the
 * pairs of their children: `{ a{x} a{x} … }` 4200 times took a second of the event loop, and a tree of `query {
 * query { … } }` two wide and eight deep, 1800 tokens, 140 ms. Here the selections under one response name are
 * merged into one node, whose children are the union of their sub-selections (fragments expanded once per node);
 * a node merging c selections costs c(c-1)/2 pairs, which follows the rule's own count within a small factor on
 * every shape measured (docs/BENCHMARKS.md), in time linear in what it visits. The walk also stops past
 * MAX_EXPANDED_FIELDS (fragments spread inside fragments double what is visited at each level).
 */
function overlapPairs(document: DocumentNode, budget: number): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  let pairs = 0;
  let visited = 0;
  const over = () => pairs > budget || visited > MAX_EXPANDED_FIELDS;
  const merged = (sets: readonly SelectionSetNode[], depth: number): void => {
    const counts = new Map<string, number>();
    const children = new Map<string, SelectionSetNode[]>();
    // The fields of the merged sets through inline fragments and spreads, each fragment once for the node.
    const spread = new Set<string>();
    for (const set of sets) {
      for (const field of rootFields(set, (name) => fragments.get(name), spread)) {
        visited++;
        const key = field.alias?.value ?? field.name.value;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        if (field.selectionSet) {
          const list = children.get(key);
          if (list) list.push(field.selectionSet);
          else children.set(key, [field.selectionSet]);
        }
      }
    }
    for (const [key, c] of counts) pairs += ((c * (c - 1)) / 2) * (children.has(key) ? 1 : 1 / 32);
    // Deeper than any document the depth limit lets through: only a fragment cycle, which its own rule refuses.
    if (over() || depth > 4 * MAX_DEPTH) return;
    for (const list of children.values()) {
      merged(list, depth + 1);
      if (over()) return;
    }
  };
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION || definition.kind === Kind.FRAGMENT_DEFINITION) merged([definition.selectionSet], 0);
    if (over()) return Math.max(pairs, budget + 1);
  }
  return pairs;
}

/**
 * graphql-js's OverlappingFieldsCanBeMerged, run only on a document whose pairs (overlapPairs) are within
 * MAX_OVERLAP_PAIRS; past it the document is refused before the rule starts. It replaces the rule of that name in
 * the rules grafserv validates with.
 */
const boundedOverlap: ValidationRule = (context) => {
  // graphql-js's rule does all its work when it enters a selection set.
  const inner = OverlappingFieldsCanBeMergedRule(context) as { SelectionSet: (...args: unknown[]) => unknown };
  let refused = false;
  return {
    Document(document) {
      if (overlapPairs(document, MAX_OVERLAP_PAIRS) > MAX_OVERLAP_PAIRS) {
        refused = true;
        context.reportError(
          refusal("QUERY_TOO_COMPLEX", `the document selects the same fields under one name too often (more than ${MAX_OVERLAP_PAIRS} pairs to compare): select each once`),
        );
      }
    },
    SelectionSet(...args) {
      if (!refused) inner.SelectionSet(...args);
    },
  };
};

export const VALIDATION_RULES: readonly ValidationRule[] = [
  maxDepthRule({ n: MAX_DEPTH, ignoreIntrospection: true, ...armorOptions() }),
  maxAliasesRule({ n: MAX_ALIASES, ...armorOptions() }),
  onePerRequest,
  introspectionBounded,
];

function pageSizeProblem(name: string, value: number): { code: ErrorCode; message: string } | null {
  if (!Number.isSafeInteger(value) || value < 0) return { code: "BAD_REQUEST", message: `${name} must be a whole number, 0 or more` };
  if (value > MAX_PAGE_SIZE) return { code: "QUERY_TOO_COMPLEX", message: `${name} may be at most ${MAX_PAGE_SIZE}` };
  return null;
}

/** Rows a connection or list returns for its `first` and `last`: what the plan (below) and the cost both use. */
function rowsOf(first: unknown, last: unknown): number | null {
  if (typeof first === "number") return first;
  return typeof last === "number" ? null : DEFAULT_PAGE_SIZE;
}

/** A walk of one operation with its coerced variables: the first page-size refusal, and the cost. */
interface Walk {
  schema: GraphQLSchema;
  fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
  fragmentCosts: Map<string, Cost>;
  refused: GraphQLError | null;
}

/**
 * A selection set's cost in two parts: what each row of its field costs (multiplied by the field's page size),
 * and what its field costs once whatever the page (a connection's totalCount).
 */
interface Cost {
  perRow: number;
  once: number;
}

/** The rows a field that takes `first`/`last` returns (1 for any other) and skips (`offset`), recording a value out of bounds. */
function pageOf(walk: Walk, field: FieldNode, definition: GraphQLField<unknown, unknown>): { rows: number; skipped: number } {
  let paged = false;
  const values: Partial<Record<"first" | "last" | "offset", unknown>> = {};
  for (const name of ["first", "last", "offset"] as const) {
    const argument = definition.args.find((arg) => arg.name === name);
    if (!argument) continue;
    paged ||= name !== "offset";
    const node = field.arguments?.find((arg) => arg.name.value === name);
    if (!node) continue;
    const value = valueFromAST(node.value, argument.type, walk.variables);
    values[name] = value;
    // A negative offset is PostGraphile's to refuse (BAD_REQUEST); a large one is held by the cost.
    if (typeof value !== "number" || name === "offset") continue;
    const problem = pageSizeProblem(name, value);
    if (problem && !walk.refused) {
      const via = node.value.kind === Kind.VARIABLE ? ` ($${node.value.name.value} is ${value})` : "";
      walk.refused = refusal(problem.code, `${problem.message}${via}`, node);
    }
  }
  const skipped = typeof values.offset === "number" && values.offset > 0 ? values.offset : 0;
  if (!paged) return { rows: 1, skipped };
  return { rows: rowsOf(values.first, values.last) ?? (values.last as number), skipped };
}

/** A connection type PostGraphile generates: its totalCount counts every row the caller may see. */
function isConnection(type: GraphQLNamedType | undefined): boolean {
  if (!type || !isObjectType(type)) return false;
  const fields = type.getFields();
  return "totalCount" in fields && "pageInfo" in fields;
}

/** graphql-armor's cost of a selection set's children (each ×1.5), with each page at its real size. */
function childrenCost(walk: Walk, selectionSet: SelectionSetNode, type: GraphQLNamedType | undefined): Cost {
  const cost: Cost = { perRow: 0, once: 0 };
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value === "totalCount" && isConnection(type)) cost.once += DEPTH_COST_FACTOR * TOTAL_COUNT_COST;
      else cost.perRow += DEPTH_COST_FACTOR * fieldCost(walk, selection, type);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const on = selection.typeCondition ? walk.schema.getType(selection.typeCondition.name.value) : type;
      const inner = childrenCost(walk, selection.selectionSet, on ?? undefined);
      cost.perRow += DEPTH_COST_FACTOR * (OBJECT_COST + inner.perRow);
      cost.once += DEPTH_COST_FACTOR * inner.once;
    } else {
      const name = selection.name.value;
      let fragmentCost = walk.fragmentCosts.get(name);
      if (fragmentCost === undefined) {
        // Validation has refused fragment cycles; the placeholder only keeps a walk finite.
        walk.fragmentCosts.set(name, { perRow: 0, once: 0 });
        const fragment = walk.fragments.get(name);
        const inner = fragment ? childrenCost(walk, fragment.selectionSet, walk.schema.getType(fragment.typeCondition.name.value) ?? undefined) : null;
        fragmentCost = inner ? { perRow: OBJECT_COST + inner.perRow, once: inner.once } : { perRow: 0, once: 0 };
        walk.fragmentCosts.set(name, fragmentCost);
      }
      cost.perRow += DEPTH_COST_FACTOR * (LEAF_COST + DEPTH_COST_FACTOR * fragmentCost.perRow);
      cost.once += DEPTH_COST_FACTOR * DEPTH_COST_FACTOR * fragmentCost.once;
    }
  }
  return cost;
}

function fieldCost(walk: Walk, field: FieldNode, parent: GraphQLNamedType | undefined): number {
  if (!field.selectionSet) return LEAF_COST;
  // Bounded by count and size instead (introspectionBounded).
  if (field.name.value === "__schema") return 0;
  const definition = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[field.name.value] : undefined;
  const type = definition ? getNamedType(definition.type) : field.name.value === "__type" ? walk.schema.getType("__Type") : undefined;
  const { rows, skipped } = definition ? pageOf(walk, field, definition) : { rows: 1, skipped: 0 };
  const children = childrenCost(walk, field.selectionSet, type ?? undefined);
  return rows * (OBJECT_COST + children.perRow) + children.once + skipped * SKIPPED_ROW_COST;
}

/** The arguments whose values the cost depends on. */
const PAGE_ARGUMENTS = ["first", "last", "offset"];

/** Per document: whether any `first`/`last`/`offset` argument in it takes a variable. */
const pageVariableUse = new WeakMap<DocumentNode, boolean>();

function pagesFromVariables(document: DocumentNode): boolean {
  let found = pageVariableUse.get(document);
  if (found === undefined) {
    found = false;
    visit(document, {
      Argument(argument) {
        if (PAGE_ARGUMENTS.includes(argument.name.value) && argument.value.kind === Kind.VARIABLE) found = true;
      },
    });
    pageVariableUse.set(document, found);
  }
  return found;
}

/** Per document and operation name: the refusal of an operation whose answer does not depend on its variables. */
const fixedRefusals = new WeakMap<DocumentNode, Map<string | null, GraphQLError | null>>();

/**
 * The operation's page sizes and cost on its coerced variables, as the refusal a client gets; null when it is
 * within the limits, or when its variables do not coerce (grafast then answers that, as it always has).
 */
export function operationRefusal(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  rawVariables: Record<string, unknown> | null | undefined,
): GraphQLError | null {
  const operation = getOperationAST(document, operationName);
  if (!operation) return null;
  // Variables count only as the values of first/last/offset: a document that passes none there (issueVoiceToken,
  // say) has the same answer whatever its variables, and is judged once.
  const fixed = !operation.variableDefinitions?.length || !pagesFromVariables(document);
  if (fixed) {
    const known = fixedRefusals.get(document)?.get(operationName ?? null);
    if (known !== undefined) return known;
  }
  let variables: Record<string, unknown> = {};
  if (!fixed) {
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables ?? {});
    if (coerced.errors) return null;
    variables = coerced.coerced;
  }
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const walk: Walk = { schema, fragments, variables, fragmentCosts: new Map(), refused: null };
  const root = schema.getRootType(operation.operation) ?? undefined;
  // The operation's cost is its root fields' (no ×1.5 at the top, as graphql-armor counts it).
  const rootCost = childrenCost(walk, operation.selectionSet, root);
  const cost = (rootCost.perRow + rootCost.once) / DEPTH_COST_FACTOR;
  const refused = walk.refused ?? (cost > MAX_COST ? refusal("QUERY_TOO_COMPLEX", `query cost limit of ${MAX_COST} exceeded, found ${Math.round(cost)} (a connection without first or last counts as ${DEFAULT_PAGE_SIZE} rows, a totalCount as ${TOTAL_COUNT_COST}, each row an offset skips as ${SKIPPED_ROW_COST}; ask for smaller pages, or page with after instead of offset)`, operation) : null);
  if (fixed) {
    let byName = fixedRefusals.get(document);
    if (!byName) fixedRefusals.set(document, (byName = new Map()));
    byName.set(operationName ?? null, refused);
  }
  return refused;
}

/** The `first` argument's own applyPlan is replaced by this: the field's plan sets `first` (defaultPage). */
function firstSetByFieldPlan(): void {}

/**
 * Every connection and list PostGraphile generates gets `first` = DEFAULT_PAGE_SIZE when the request gives
 * neither `first` nor `last` (or gives them as null): its plan sets `first` from both arguments at run time, so a
 * variable that is null or omitted gets the default page too.
 */
function defaultPage<T extends GrafastFieldConfig<any, any, any>>(field: T, scope: GraphileBuild.ScopeObjectFieldsField): T {
  const plan = field.plan;
  if (!plan || !(scope.isPgFieldConnection || scope.isPgFieldSimpleCollection)) return field;
  return {
    ...field,
    plan($parent: Step, fieldArgs: FieldArgs, info) {
      const $result = plan($parent, fieldArgs, info) as (Step & { setFirst?(first: Step): void }) | null;
      const args = info.field.args;
      if ($result && typeof $result.setFirst === "function" && args.find((arg) => arg.name === "first")?.extensions?.grafast?.applyPlan === firstSetByFieldPlan) {
        const $last = args.some((arg) => arg.name === "last") ? fieldArgs.getRaw("last") : constant(undefined);
        $result.setFirst(lambda([fieldArgs.getRaw("first"), $last], ([first, last]) => rowsOf(first, last), true));
      }
      return $result;
    },
  };
}
const REFUSAL_STATUS = new Set(["QUERY_TOO_COMPLEX", "BAD_REQUEST"]);

type ErrorOnlyBody = { errors: { message?: unknown; extensions?: Record<string, unknown> }[] };

const ERRORS_FIRST = Buffer.from('{"errors":');
const ARRAY_LAST = Buffer.from("]}");

/**
 * A response with errors and no data (a refused request), parsed; undefined for anything else. grafast writes
 * `errors` first, then `data`, then `extensions`, so a buffer is only parsed when it opens with `{"errors":`; one
 * of 64 KiB or more also has to end with `]}` (its last member is the errors array: no data, no extensions), so a
 * large answer with data is never parsed here, whatever its size. An error-only answer is bounded by the request
 * (MAX_REQUEST_BYTES, graphql-js's 100 errors): parsing it costs about what validating the request did.
 */
function errorOnlyBody(result: Result | null): ErrorOnlyBody | undefined {
  if (!result) return undefined;
  let payload: unknown;
  if (result.type === "json") payload = result.json;
  else if (
    result.type === "buffer" &&
    result.buffer.subarray(0, ERRORS_FIRST.length).equals(ERRORS_FIRST) &&
    (result.buffer.length < 65_536 || result.buffer.subarray(result.buffer.length - ARRAY_LAST.length).equals(ARRAY_LAST))
  ) {
    try {
      payload = JSON.parse(result.buffer.toString("utf8"));
    } catch {
      return undefined;
    }
  } else return undefined;
  const body = payload as { data?: unknown; errors?: unknown } | null;
  if (!body || "data" in body || !Array.isArray(body.errors) || body.errors.length === 0) return undefined;
  return body as ErrorOnlyBody;
}

/** The longest refusal message sent back whole: graphql-js quotes names, which a request may make 90 KB long. */
export const MAX_REFUSAL_MESSAGE = 1024;

/** A refusal's message cut to MAX_REFUSAL_MESSAGE characters, its start and its end kept, the cut said. */
export function shortMessage(message: string): string {
  if (message.length <= MAX_REFUSAL_MESSAGE) return message;
  const head = message.slice(0, 640);
  const tail = message.slice(-256);
  return `${head} … [${message.length - head.length - tail.length} characters cut] … ${tail}`;
}

/**
 * A response made only of refusals (no data: validation failed, or the execute check refused) is HTTP 400,
 * whatever media type the client accepts, however large; a message longer than MAX_REFUSAL_MESSAGE is cut. graphql-over-HTTP's legacy application/json answers validation errors
 * with 200; our routes answer a refused request with 400 everywhere.
 *
 * graphql-js's own refusals of a document (a syntax error, a field that does not exist, a value of the wrong type,
 * two anonymous operations) carry no code: in a refused response each gets BAD_REQUEST, like every other refusal
 * (METHOD_NOT_ALLOWED when grafserv answers 405: GET, or a mutation over GET), so a client can tell them from a
 * fault by extensions.code alone.
 */
function refusedResponse(result: Result | null): void {
  const body = errorOnlyBody(result);
  if (!result || !body) return;
  // Uncoded errors with no data are graphql-js's refusals of the document (maskError codes every execution
  // error): with legacy application/json grafserv answers them 200, and they are refusals like ours.
  if (result.statusCode === 200 && body.errors.every((e) => e?.extensions?.code === undefined || REFUSAL_STATUS.has(String(e.extensions.code)))) {
    result.statusCode = 400;
  }
  if (result.statusCode === undefined || result.statusCode < 400 || result.statusCode >= 500) return;
  let changed = false;
  const code = refusalCode(result.statusCode);
  for (const error of body.errors) {
    if (!error || typeof error !== "object") continue;
    if (error.extensions?.code === undefined) {
      error.extensions = { ...error.extensions, code };
      changed = true;
    }
    if (typeof error.message === "string" && error.message.length > MAX_REFUSAL_MESSAGE) {
      error.message = shortMessage(error.message);
      changed = true;
    }
  }
  if (!changed) return;
  if (result.type === "buffer") {
    result.buffer = Buffer.from(JSON.stringify(body));
    for (const name of Object.keys(result.headers)) {
      if (name.toLowerCase() === "content-length") result.headers[name] = String(result.buffer.length);
    }
  }
}

/** The code of a refusal grafserv made without one: 405 (another method than POST) is METHOD_NOT_ALLOWED, any other 4xx BAD_REQUEST. */
function refusalCode(status: number): "METHOD_NOT_ALLOWED" | "BAD_REQUEST" {
  return status === 405 ? "METHOD_NOT_ALLOWED" : "BAD_REQUEST";
}

/** grafserv's own request refusals (unparsable body, persisted operation missing) with a code, like ours. */
function withCode(error: unknown): never {
  if (error instanceof SafeError) {
    const extensions = (error.extensions ?? {}) as Record<string, unknown>;
    const status = Number(extensions.statusCode);
    if (status >= 400 && status < 500 && extensions.code === undefined) {
      throw new SafeError(error.message, { ...extensions, code: refusalCode(status) });
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

function refusalOf(args: import("postgraphile/grafast").GrafastExecutionArgs): GraphQLError | null {
  return operationRefusal(args.schema, args.document, args.operationName, args.variableValues as Record<string, unknown> | null | undefined);
}

/** The limits as a plugin; `executionTimeoutMs` is STATEMENT_TIMEOUT_MS. */
export function queryLimitsPlugin(executionTimeoutMs: number): GraphileConfig.Plugin {
  const timed = withExecutionTimeout(executionTimeoutMs);
  return {
    name: "NexusQueryLimitsPlugin",
    version: "1.0.0",
    description: "Depth, alias, introspection, cost, page-size and one-credential-per-request limits (QUERY_TOO_COMPLEX), and the default page.",
    after: ["PgFirstLastBeforeAfterArgsPlugin"],
    grafserv: {
      middleware: {
        setPreset(next, dynamicOptions) {
          const rules = dynamicOptions.validationRules;
          const at = rules.indexOf(OverlappingFieldsCanBeMergedRule);
          // Fail closed: without the rule to replace, its unbounded copy would run.
          if (at < 0) throw new Error("graphql's OverlappingFieldsCanBeMergedRule is not among grafserv's validation rules: boundedOverlap cannot replace it");
          rules.splice(at, 1, boundedOverlap);
          rules.push(...VALIDATION_RULES);
          return next();
        },
        processGraphQLRequestBody(next, event) {
          const tooLong = tokenRefusal(event.body.query);
          if (tooLong) throw tooLong;
          try {
            const result = next();
            return result && typeof (result as Promise<void>).then === "function" ? (result as Promise<void>).catch(withCode) : result;
          } catch (error) {
            withCode(error);
          }
        },
        async processRequest(next) {
          const result = await next();
          refusedResponse(result);
          return result;
        },
      },
    },
    grafast: {
      middleware: {
        execute(next, event) {
          const refused = refusalOf(event.args);
          if (refused) return { errors: [refused] };
          event.args.resolvedPreset = timed(event.args.resolvedPreset);
          return next();
        },
        subscribe(next, event) {
          const refused = refusalOf(event.args);
          return refused ? { errors: [refused] } : next();
        },
      },
    },
    schema: {
      hooks: {
        GraphQLObjectType_fields_field(field, build, context) {
          return defaultPage(field, context.scope);
        },
        GraphQLObjectType_fields_field_args(args, _build, context) {
          const { isPgFieldConnection, isPgFieldSimpleCollection } = context.scope;
          if (!(isPgFieldConnection || isPgFieldSimpleCollection) || !args.first) return args;
          return { ...args, first: { ...args.first, applyPlan: firstSetByFieldPlan } };
        },
      },
    },
  };
}
