import { createClient, type Client } from "graphql-ws";
import { buildClientSchema, getIntrospectionQuery } from "postgraphile/graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { DEFAULT_PAGE_SIZE, MAX_ALIASES, MAX_COST, MAX_INTROSPECTION_FIELDS, MAX_PAGE_SIZE, MAX_REQUEST_BYTES, MAX_TOKENS, STANDARD_INTROSPECTION, TOTAL_COUNT_COST } from "../../server/graphql/limits.ts";
import { bearer, postJson, type HttpAnswer } from "../support/http.ts";
import { createMember, type Member } from "../support/members.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

/**
 * The security review's attacks on the GraphQL limits (issue: page size, cost, introspection, WebSocket size), over
 * HTTP and graphql-ws against a production-mode server. A connection asked for without `first` returns a default
 * page instead of every row; page sizes and the cost are judged on the coerced variables, a variable's default
 * value included; introspection is bounded by count; and a WebSocket message is held to the HTTP body limit. Each
 * refusal is 400 QUERY_TOO_COMPLEX (BAD_REQUEST for a negative page), and the ordinary request next to it runs.
 */
const PRESENCE_ROWS = 1200;
let t: TestServer;
let vagrant: Member;
let wsClients: Client[] = [];

beforeAll(async () => {
  t = await startTestServer({ env: { NODE_ENV: "production" } });
  vagrant = await createMember(t.pool, "VAGRANT");
  // More presence rows on an open net than MAX_PAGE_SIZE, all visible to a VAGRANT (the review's 5,003 rows).
  await t.pool.query(
    `with net as (insert into public.voice_nets (name, room_name) values ('Open', 'open-net') returning id)
     insert into public.voice_presence (room_name, net_id, participant_identity, participant_sid, user_id, joined_at)
     select 'open-net', net.id, 'p-' || i, 'PA_' || i, $1, now() - i * interval '1 second' from net, generate_series(1, $2) i`,
    [vagrant.id, PRESENCE_ROWS],
  );
}, 60_000);
afterAll(async () => {
  await Promise.all(wsClients.map((client) => client.dispose()));
  await t?.close();
});

type GraphQLAnswer = HttpAnswer<{ data?: any; errors?: { message: string; extensions?: { code?: string } }[] }>;
const post = (body: unknown, token?: string): Promise<GraphQLAnswer> => postJson(`${t.baseUrl}/graphql`, JSON.stringify(body), bearer(token));

function expectRefused(answer: GraphQLAnswer, code: string, what = "") {
  expect(answer.status, what).toBe(400);
  expect(answer.body.data, what).toBeUndefined();
  expect(new Set(answer.body.errors?.map((e) => e.extensions?.code)), what).toEqual(new Set([code]));
}

function expectRan(answer: GraphQLAnswer, what = "") {
  expect(answer.body.errors, what).toBeUndefined();
  expect(answer.status, what).toBe(200);
}

/** graphql-ws's own client (with the `ws` package), as a frontend's subscription link would connect. */
function wsClient(token?: string): Client {
  const client = createClient({
    url: `${t.baseUrl.replace("http", "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    lazy: true,
    retryAttempts: 0,
  });
  wsClients.push(client);
  return client;
}

/** One operation over the socket: its results, or what it failed with (GraphQL errors, or the socket's close). */
function overWs(client: Client, query: string, variables?: Record<string, unknown>): Promise<{ results: any[]; errors?: any[]; closeCode?: number }> {
  return new Promise((resolve) => {
    const results: any[] = [];
    client.subscribe(
      { query, variables },
      {
        next: (value) => results.push(value),
        error: (error: any) => resolve(Array.isArray(error) ? { results, errors: error } : { results, closeCode: error?.code }),
        complete: () => resolve({ results }),
      },
    );
  });
}

const codesOf = (outcome: { results: any[]; errors?: any[] }) => [
  ...(outcome.errors ?? []).map((e) => e.extensions?.code),
  ...outcome.results.flatMap((r) => (r.errors ?? []).map((e: any) => e.extensions?.code)),
];

const presences = (args = "") => `voicePresences${args} { totalCount nodes { id } pageInfo { hasNextPage } }`;

describe("page sizes: a default page, and the maximum on literals, variables and variables' defaults", () => {
  it(`a connection asked for without first or last returns ${DEFAULT_PAGE_SIZE} rows (first: null, or $n null or omitted, too)`, async () => {
    for (const [query, variables] of [
      [`{ ${presences()} }`, {}],
      [`{ ${presences("(first: null)")} }`, {}],
      [`query($n: Int) { ${presences("(first: $n)")} }`, {}],
      [`query($n: Int) { ${presences("(first: $n)")} }`, { n: null }],
    ] as const) {
      const answer = await post({ query, variables }, vagrant.token);
      expectRan(answer, query);
      expect(answer.body.data.voicePresences.nodes, query).toHaveLength(DEFAULT_PAGE_SIZE);
      expect(answer.body.data.voicePresences.pageInfo.hasNextPage, query).toBe(true);
      expect(answer.body.data.voicePresences.totalCount, query).toBe(PRESENCE_ROWS);
    }
    // Nested connections get the default page too.
    const nested = await post({ query: `query($id: UUID!) { profiles(first: 1, condition: { id: $id }) { nodes { voicePresencesByUserId { nodes { id } } } } }`, variables: { id: vagrant.id } }, vagrant.token);
    expectRan(nested);
    expect(nested.body.data.profiles.nodes[0].voicePresencesByUserId.nodes).toHaveLength(DEFAULT_PAGE_SIZE);

    // Asked for, a page is what was asked, up to the maximum; `last` alone is a page of its own size.
    const full = await post({ query: `{ ${presences(`(first: ${MAX_PAGE_SIZE})`)} }` }, vagrant.token);
    expectRan(full);
    expect(full.body.data.voicePresences.nodes).toHaveLength(MAX_PAGE_SIZE);
    const last = await post({ query: `query($n: Int = 3) { ${presences("(last: $n)")} }` }, vagrant.token);
    expectRan(last);
    expect(last.body.data.voicePresences.nodes).toHaveLength(3);
  });

  it(`a variable's default above ${MAX_PAGE_SIZE} is QUERY_TOO_COMPLEX (negative: BAD_REQUEST) like the literal, over HTTP and WebSocket`, async () => {
    const ws = wsClient(vagrant.token);
    for (const [query, code] of [
      [`query($n: Int = 5000) { ${presences("(first: $n)")} }`, "QUERY_TOO_COMPLEX"],
      [`query($n: Int = 1001) { ${presences("(last: $n)")} }`, "QUERY_TOO_COMPLEX"],
      [`query($n: Int = -1) { ${presences("(first: $n)")} }`, "BAD_REQUEST"],
      [`query($n: Int = 5000) { profiles { nodes { voicePresencesByUserId(first: $n) { nodes { id } } } } }`, "QUERY_TOO_COMPLEX"],
    ] as const) {
      expectRefused(await post({ query }, vagrant.token), code, query);
      expect(codesOf(await overWs(ws, query)), `${query} over WebSocket`).toEqual([code]);
    }
    // A variable given overrides its default: within the limit it runs, on both paths.
    const query = `query($n: Int = 5000) { ${presences("(first: $n)")} }`;
    const http = await post({ query, variables: { n: 7 } }, vagrant.token);
    expectRan(http);
    expect(http.body.data.voicePresences.nodes).toHaveLength(7);
    const overSocket = await overWs(ws, query, { n: 7 });
    expect(overSocket.results[0].data.voicePresences.nodes).toHaveLength(7);
  });
});

describe("cost: each page at its real size, whether literal, variable, default or omitted", () => {
  const bigAliases = (n: number) =>
    `{ ${Array.from({ length: n }, (_, i) => `a${i}: voicePresences { nodes { id roomName participantIdentity participantSid participantMetadata joinedAt leftAt net { name roomName } } }`).join(" ")} }`;

  it(`${MAX_ALIASES} aliases of a connection without first (the review's 100k rows) are QUERY_TOO_COMPLEX; two run`, async () => {
    expectRefused(await post({ query: bigAliases(MAX_ALIASES) }, vagrant.token), "QUERY_TOO_COMPLEX");
    const two = await post({ query: bigAliases(2) }, vagrant.token);
    expectRan(two);
    expect(two.body.data.a1.nodes).toHaveLength(DEFAULT_PAGE_SIZE);
  });

  it("a nested query refused with literal first: 1000 is refused with the same pages as variables or their defaults, over HTTP and WebSocket", async () => {
    const nested = (a: string, b: string, c: string) =>
      `profiles(first: ${a}) { nodes { id voicePresencesByUserId(first: ${b}) { nodes { id net { id voiceNetBridgesBySourceNetId(first: ${c}) { nodes { id } } } } } } }`;
    const ws = wsClient(vagrant.token);
    for (const [query, variables] of [
      [`{ ${nested("1000", "1000", "1000")} }`, undefined],
      [`query($a: Int, $b: Int, $c: Int) { ${nested("$a", "$b", "$c")} }`, { a: 1000, b: 1000, c: 1000 }],
      [`query($a: Int = 1000, $b: Int = 1000, $c: Int = 1000) { ${nested("$a", "$b", "$c")} }`, undefined],
      [`query($a: Int, $b: Int, $c: Int) { ${nested("$a", "$b", "$c")} }`, {}],
    ] as const) {
      expectRefused(await post({ query, variables }, vagrant.token), "QUERY_TOO_COMPLEX", query);
      expect(codesOf(await overWs(ws, query, variables)), `${query} over WebSocket`).toEqual(["QUERY_TOO_COMPLEX"]);
    }
    // Small pages of the same shape run.
    const small = await post({ query: `query($a: Int, $b: Int, $c: Int) { ${nested("$a", "$b", "$c")} }`, variables: { a: 5, b: 5, c: 5 } }, vagrant.token);
    expectRan(small);
    expect(small.body.data.profiles.nodes.length).toBeGreaterThan(0);
  });
});

describe("introspection: bounded by count, ordinary introspection unchanged", () => {
  const deepSchema = `__schema { types { name description fields { name args { name type { name kind ofType { name kind } } } type { name kind ofType { name kind ofType { name kind } } } } } }`;

  it(`20 aliases of a nested __schema (1.9 s of CPU in the review) are QUERY_TOO_COMPLEX, anonymously, over HTTP and WebSocket`, async () => {
    const ws = wsClient();
    for (const query of [
      `{ ${Array.from({ length: 20 }, (_, i) => `s${i}: ${deepSchema}`).join(" ")} }`,
      `{ a: __schema { queryType { name } } b: __schema { queryType { name } } }`,
      // PostGraphile's `query` field re-enters Query; a fragment spread twice is two.
      `{ __schema { queryType { name } } query { ${deepSchema} } }`,
      `{ ...S q: query { ...S } } fragment S on Query { ${deepSchema} }`,
      `{ ${Array.from({ length: MAX_INTROSPECTION_FIELDS.__type + 1 }, (_, i) => `t${i}: __type(name: "Query") { fields { name } }`).join(" ")} }`,
    ]) {
      expectRefused(await post({ query }), "QUERY_TOO_COMPLEX", query.slice(0, 80));
      expect(codesOf(await overWs(ws, query)), `${query.slice(0, 80)} over WebSocket`).toEqual(["QUERY_TOO_COMPLEX"]);
    }
  });

  it("the introspection query GraphiQL and codegen send runs, as does a __type lookup", async () => {
    const full = await post({ query: getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, inputValueDeprecation: true }) });
    expectRan(full);
    expect(full.body.data.__schema.types.map((type: { name: string }) => type.name)).toContain("VoicePresence");
    const lookup = await post({ query: `{ a: __type(name: "VoiceNet") { fields { name } } b: __type(name: "Profile") { name } }` });
    expectRan(lookup);
    expect(lookup.body.data.a.fields.map((field: { name: string }) => field.name)).toContain("roomName");
    const overSocket = await overWs(wsClient(), getIntrospectionQuery());
    expect(overSocket.results[0].data.__schema.queryType.name).toBe("Query");
  });
});

describe("introspection: bounded by the size of its answer at the schema's real sizes", () => {
  // The review's query (F1): one __schema with `fields` blocks two levels deep and args/ofType/enumValues inside;
  // with 19 aliased copies of the block it answered 29 MB, and over a socket that never reads held 535 MB.
  const inner = `name description args { name description type { name kind ofType { name kind ofType { name kind } } } } type { name kind ofType { name kind ofType { name } } }`;
  const second = `fields { ${inner} } enumValues { name description } interfaces { name }`;
  const fieldsBlock = (alias: string) => `${alias}fields { ${inner} type { name ${second} ofType { name ${second} ofType { name ${second} } } } }`;
  const wide = (aliases: number) =>
    `{ __schema { types { name kind ${[fieldsBlock(""), ...Array.from({ length: aliases }, (_, i) => fieldsBlock(`f${i}: `))].join(" ")} } } }`;
  // The standard query's own fields, aliased: each copy is the whole schema again (two answers' worth is allowed).
  const typesFiveTimes = `{ __schema { types { ...T } ${[1, 2, 3, 4].map((i) => `again${i}: types { ...T }`).join(" ")} } } fragment T on __Type { name description fields(includeDeprecated: true) { name description args { name description type { name kind ofType { name kind ofType { name kind } } } } type { name kind ofType { name kind ofType { name kind } } } } }`;

  it("the review's query and aliased copies of the schema are QUERY_TOO_COMPLEX before they run, anonymously, over HTTP and WebSocket", async () => {
    const ws = wsClient();
    for (const query of [wide(19), wide(1), typesFiveTimes, `{ __type(name: "Query") { a: fields { ${inner} } b: fields { ${inner} } c: fields { ${inner} } d: fields { ${inner} } e: fields { ${inner} } f: fields { ${inner} } g: fields { ${inner} } h: fields { ${inner} } } }`]) {
      const http = await post({ query });
      expectRefused(http, "QUERY_TOO_COMPLEX", query.slice(0, 80));
      // Refused by validation, so no answer was built (the review's took 1.4 to 2.9 s); the review's own query has
      // more than MAX_TOKENS tokens, so it is refused before it is parsed.
      expect(http.body.errors?.[0]?.message, query.slice(0, 80)).toMatch(
        /introspection limit of \d+ values|aliases inside __schema and __type are refused|the document has more than \d+ tokens/,
      );
      expect(codesOf(await overWs(ws, query)), `${query.slice(0, 80)} over WebSocket`).toEqual(["QUERY_TOO_COMPLEX"]);
    }
    expect((await fetch(`${t.baseUrl}/healthz`)).status).toBe(200);
  });

  it("the standard introspection query runs in every variant tools send, and graphql-js builds the schema from its answer", async () => {
    const variants = {
      "getIntrospectionQuery()": getIntrospectionQuery(),
      "without descriptions": getIntrospectionQuery({ descriptions: false }),
      "GraphiQL's": getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, inputValueDeprecation: true, schemaDescription: true }),
      "every option": STANDARD_INTROSPECTION,
      "typeDepth 12": getIntrospectionQuery({ inputValueDeprecation: true, typeDepth: 12 }),
    };
    for (const [name, query] of Object.entries(variants)) {
      const http = await post({ query });
      expectRan(http, name);
      expect(buildClientSchema(http.body.data).getType("VoicePresence"), name).toBeDefined();
      // graphql-ws's own client, as a frontend tool would send it over the socket.
      const overSocket = await overWs(wsClient(), query);
      expect(overSocket.results[0]?.errors, `${name} over WebSocket`).toBeUndefined();
      expect(buildClientSchema(overSocket.results[0].data).getQueryType()?.name, `${name} over WebSocket`).toBe("Query");
    }
    // The standard query with a few __type lookups beside it (what some IDEs send) still fits.
    const withLookups = STANDARD_INTROSPECTION.replace("__schema {", `a: __type(name: "VoiceNet") { fields { name type { name kind } } } b: __type(name: "Profile") { name } __schema {`);
    expectRan(await post({ query: withLookups }), "standard query with __type lookups");
  });
});

describe("totalCount and offset are costed: a member cannot count or skip a whole table for the price of a leaf", () => {
  it(`each totalCount costs ${TOTAL_COUNT_COST} whatever the page; a few run, more are QUERY_TOO_COMPLEX, over HTTP and WebSocket`, async () => {
    const counts = (n: number, page = "") => `{ ${Array.from({ length: n }, (_, i) => `c${i}: voicePresences${page} { totalCount }`).join(" ")} }`;
    const one = await post({ query: counts(1) }, vagrant.token);
    expectRan(one);
    expect(one.body.data.c0.totalCount).toBe(PRESENCE_ROWS);
    expectRan(await post({ query: counts(2, "(first: 1)") }, vagrant.token));
    const tooMany = Math.ceil(MAX_COST / (1.5 * TOTAL_COUNT_COST)) + 1;
    const ws = wsClient(vagrant.token);
    // A page of one row does not make a count cheap.
    for (const query of [counts(tooMany), counts(tooMany, "(first: 1)"), counts(tooMany, "(first: 0)")]) {
      expectRefused(await post({ query }, vagrant.token), "QUERY_TOO_COMPLEX", query.slice(0, 60));
      expect(codesOf(await overWs(ws, query)), `${query.slice(0, 60)} over WebSocket`).toEqual(["QUERY_TOO_COMPLEX"]);
    }
    // Through a fragment on the connection type too.
    const viaFragment = `{ ${Array.from({ length: tooMany }, (_, i) => `c${i}: voicePresences(first: 1) { ...Count }`).join(" ")} } fragment Count on VoicePresenceConnection { totalCount }`;
    expectRefused(await post({ query: viaFragment }, vagrant.token), "QUERY_TOO_COMPLEX", "totalCount through a fragment");
  });

  it("each row an offset skips costs like a row read, as a literal and as a variable (its default too)", async () => {
    const skip = (offset: string) => `voicePresences(first: 1, offset: ${offset}) { nodes { id } }`;
    const small = await post({ query: `{ ${skip("5")} }` }, vagrant.token);
    expectRan(small);
    expect(small.body.data.voicePresences.nodes).toHaveLength(1);
    const ws = wsClient(vagrant.token);
    for (const [query, variables] of [
      [`{ ${skip(String(MAX_COST + 1))} }`, {}],
      [`query($o: Int) { ${skip("$o")} }`, { o: MAX_COST + 1 }],
      [`query($o: Int = ${MAX_COST + 1}) { ${skip("$o")} }`, {}],
    ] as const) {
      const http = await post({ query, variables }, vagrant.token);
      expectRefused(http, "QUERY_TOO_COMPLEX", query);
      expect(http.body.errors?.[0]?.message).toMatch(/offset/);
      const overSocket = await overWs(ws, query, variables);
      expect(codesOf(overSocket), `${query} over WebSocket`).toEqual(["QUERY_TOO_COMPLEX"]);
    }
    // The same document with a small offset in its variable runs: the cost is judged on each request's values.
    expectRan(await post({ query: `query($o: Int) { ${skip("$o")} }`, variables: { o: 3 } }, vagrant.token));
  });
});

describe("parsing and validating a document is bounded, whatever it spends its bytes on (review 5, F2)", () => {
  // The review's document: one small selection 4200 times, 95 KB (under the body limit). graphql-js compared every
  // pair of the repeated fields: 0.5 to 1.2 s of the event loop each, anonymously, a fresh document each time.
  const repeated = (n: number) => `query Q { ${Array.from({ length: n }, () => "skills{nodes{id name}}").join(" ")} }`;
  // Fewer tokens, the same pairwise work: a tree of Query's own `query` field, two wide and eight deep (1788 tokens).
  const tree = (wide: number, deep: number): string =>
    deep === 0 ? "__typename" : Array.from({ length: wide }, () => `query { ${tree(wide, deep - 1)} }`).join(" ");
  // Repeated inside a fragment, and the fragment spread where its fields are compared again.
  const inFragment = `query Q { skills { ...F ...F } } fragment F on SkillConnection { ${Array.from({ length: 120 }, () => "nodes { id }").join(" ")} }`;

  it(`a document of more than ${MAX_TOKENS} tokens is QUERY_TOO_COMPLEX before it is parsed, anonymously, over HTTP and WebSocket`, async () => {
    const query = repeated(4200);
    expect(query.length).toBeLessThan(MAX_REQUEST_BYTES);
    const answer = await post({ query });
    expectRefused(answer, "QUERY_TOO_COMPLEX");
    expect(answer.body.errors?.[0]?.message).toBe(`the document has more than ${MAX_TOKENS} tokens: send a smaller one`);
    // A new operation name each time: no cached validation to lean on.
    for (let i = 0; i < 3; i++) expectRefused(await post({ query: query.replace("query Q", `query Q${i}`) }), "QUERY_TOO_COMPLEX");
    const ws = wsClient();
    expect(codesOf(await overWs(ws, query))).toEqual(["QUERY_TOO_COMPLEX"]);
    // The socket stays open for what is within the limits.
    expect((await overWs(ws, "{ __typename }")).results).toEqual([{ data: { __typename: "Query" } }]);
  });

  it("fields repeated under one name past the pairs graphql-js would compare are QUERY_TOO_COMPLEX, within the token limit", async () => {
    const ws = wsClient();
    for (const query of [`{ ${tree(2, 8)} }`, repeated(200), inFragment]) {
      const answer = await post({ query });
      expectRefused(answer, "QUERY_TOO_COMPLEX", query.slice(0, 60));
      expect(answer.body.errors?.[0]?.message, query.slice(0, 60)).toMatch(/^the document selects the same fields under one name too often/);
      expect(codesOf(await overWs(ws, query)), `${query.slice(0, 60)} over WebSocket`).toEqual(["QUERY_TOO_COMPLEX"]);
    }
  });

  it("long strings count by their length: 330 leaves with a 290-character argument each (98 KB) are refused, over HTTP and WebSocket", async () => {
    // One string is one token of any length, and graphql-js compares arguments by their text.
    const query = `{ ${Array.from({ length: 330 }, () => `f(a: "${"x".repeat(290)}")`).join(" ")} }`;
    const answer = await post({ query });
    expectRefused(answer, "QUERY_TOO_COMPLEX");
    expect(answer.body.errors?.[0]?.message).toBe(`the document has more than ${MAX_TOKENS} tokens: send a smaller one`);
    expect(codesOf(await overWs(wsClient(), query))).toEqual(["QUERY_TOO_COMPLEX"]);
  });

  it("over graphql-ws too, graphql-js's refusals of a document are BAD_REQUEST, and a 60 KB name is not echoed back", async () => {
    const ws = wsClient();
    for (const query of [`{ ${"a".repeat(60_000)} }`, "{ __typename ", "{ noSuchField }"]) {
      const outcome = await overWs(ws, query);
      expect(codesOf(outcome), query.slice(0, 30)).toEqual(["BAD_REQUEST"]);
      expect(outcome.errors?.[0]?.message.length, query.slice(0, 30)).toBeLessThanOrEqual(1100);
    }
  });

  it("ordinary repetition still runs: a field a few fragments each select, the same tree smaller, leaves repeated", async () => {
    const fragments = `query($id: UUID!) { profiles(first: 1, condition: { id: $id }) { nodes { ...A ...B ...C } } }
      fragment A on Profile { id callsign voicePresencesByUserId(first: 2) { nodes { id } } }
      fragment B on Profile { id rank voicePresencesByUserId(first: 2) { nodes { id roomName } } }
      fragment C on Profile { id voicePresencesByUserId(first: 2) { nodes { id } totalCount } }`;
    expectRan(await post({ query: fragments, variables: { id: vagrant.id } }, vagrant.token), "fragments");
    expectRan(await post({ query: `{ ${tree(2, 4)} }` }), "tree 2 x 4");
    expectRan(await post({ query: `{ ${Array.from({ length: 300 }, () => "__typename").join(" ")} }` }), "300 leaves");
  });
});

describe(`request size: ${MAX_REQUEST_BYTES} bytes on HTTP and WebSocket alike`, () => {
  const documentOf = (bytes: number) => `{ ${"__typename ".repeat(Math.ceil(bytes / 11))}}`;

  it("an anonymous oversize document is 413 over HTTP and closes the socket with 1009 (message too big) before it is parsed", async () => {
    const big = documentOf(MAX_REQUEST_BYTES + 1000);
    const http = await postJson(`${t.baseUrl}/graphql`, JSON.stringify({ query: big }));
    expect(http.status).toBe(413);

    const ws = wsClient();
    const huge = documentOf(20_000_000);
    const started = Date.now();
    // The review's 20 MB document held the event loop for seconds while it was parsed and validated; refused on
    // its frame header, it is over as soon as the client has sent it.
    expect(await overWs(ws, huge)).toEqual({ results: [], closeCode: 1009 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await fetch(`${t.baseUrl}/healthz`)).status).toBe(200);

    // A message within the limit (mostly a comment here) runs, on a new connection of the same client.
    const fine = await overWs(ws, `# ${"x".repeat(MAX_REQUEST_BYTES * 0.8)}\n{ __typename }`);
    expect(fine.results[0].data.__typename).toBe("Query");
  });
});
