import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_ALIASES, MAX_DEPTH, MAX_PAGE_SIZE } from "../../server/graphql/limits.ts";
import { bearer, postJson, rest, type HttpAnswer } from "../support/http.ts";
import { LIVEKIT_ENV } from "../support/livekit.ts";
import { createMember, type Member } from "../support/members.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

/**
 * The attacks of issue 11 finding 4 over HTTP against a production-mode server: each costly shape of GraphQL
 * request is refused with 400 QUERY_TOO_COMPLEX (or BAD_REQUEST for a negative page) before it plans or runs any
 * SQL, on literals and variables alike, while the same request within the limits runs. A statement that stays
 * too long ends at STATEMENT_TIMEOUT_MS with TIMEOUT, on GraphQL and REST; persisted operations refuse the rest.
 */
// Long enough for a bcrypt check (authenticate) on a loaded machine, short enough for a test to wait out.
const TIMEOUT_MS = 1500;
let t: TestServer;
let vagrant: Member;
let scout: Member;

beforeAll(async () => {
  t = await startTestServer({ env: { NODE_ENV: "production", STATEMENT_TIMEOUT_MS: String(TIMEOUT_MS), ...LIVEKIT_ENV } });
  vagrant = await createMember(t.pool, "VAGRANT");
  scout = await createMember(t.pool, "SCOUT");
  await t.pool.query(`insert into public.voice_nets (name, room_name) select 'Net ' || i, 'net-' || i from generate_series(1, 30) i`);
}, 60_000);
afterAll(async () => {
  await t?.close();
});

type GraphQLAnswer = HttpAnswer<{ data?: any; errors?: { message: string; extensions?: { code?: string } }[] }>;
const post = (body: unknown, token?: string): Promise<GraphQLAnswer> => postJson(`${t.baseUrl}/graphql`, JSON.stringify(body), bearer(token));

const codes = (answer: GraphQLAnswer) => answer.body.errors?.map((e) => e.extensions?.code);

/** Refused as a whole: 400, no data, and every error (one limit or several) carries the code. */
function expectRefused(answer: GraphQLAnswer, code: string, what = "") {
  expect(answer.status, what).toBe(400);
  expect(answer.body.data, what).toBeUndefined();
  expect(answer.body.errors?.length, what).toBeGreaterThan(0);
  expect(new Set(codes(answer)), what).toEqual(new Set([code]));
}

/**
 * `{ voiceNets { nodes { linkedSquad { voiceNetsByLinkedSquadId { nodes { linkedSquad { … } } } } } } }`, `levels`
 * relations deep; with `first`, each connection asks for that page.
 */
function nested(levels: number, first?: number): string {
  const page = first === undefined ? "" : `(first: ${first})`;
  let inner = "id";
  for (let i = levels - 1; i >= 0; i--) inner = i % 2 === 0 ? `linkedSquad { id ${inner} }` : `voiceNetsByLinkedSquadId${page} { nodes { id ${inner} } }`;
  return `voiceNets${page} { nodes { id name ${inner} } }`;
}

describe("GraphQL cost limits (production mode, over HTTP)", () => {
  it("a VAGRANT's 48 KB query of hundreds of aliased nested relations is refused with 400 QUERY_TOO_COMPLEX", async () => {
    const aliases = Array.from({ length: 300 }, (_, i) => `a${i}: voiceNets { nodes { id name roomName description minRankToJoin minRankToRx minRankToTx linkedSquad { id name squadMembers { nodes { userId role joinedAt } } } } }`);
    const query = `{ ${aliases.join(" ")} }`;
    expect(query.length).toBeGreaterThan(40_000);
    expectRefused(await post({ query }, vagrant.token), "QUERY_TOO_COMPLEX");

    // The same shape within the limits runs: MAX_ALIASES aliases, with pages small enough for the cost (a
    // connection without first counts as DEFAULT_PAGE_SIZE rows, and a nested one multiplies).
    const paged = aliases.slice(0, MAX_ALIASES).map((alias) => alias.replace("voiceNets {", "voiceNets(first: 3) {").replace("squadMembers {", "squadMembers(first: 5) {"));
    const fine = await post({ query: `{ ${paged.join(" ")} }` }, vagrant.token);
    expect(fine.status).toBe(200);
    expect(fine.body.errors).toBeUndefined();
    expect(fine.body.data.a0.nodes).toHaveLength(3);
  });

  it("200 aliased authenticate fields are one refusal, not 200 password guesses; fragments and inline fragments count too", async () => {
    const guess = (i: number) => `g${i}: authenticate(input: { email: "${scout.callsign}@members.test", password: "guess-${i}" }) { jwtToken }`;
    const attempts = [
      `mutation { ${Array.from({ length: 200 }, (_, i) => guess(i)).join(" ")} }`,
      `mutation { ${guess(1)} ${guess(2)} }`,
      `mutation { ...A ...B } fragment A on Mutation { ${guess(1)} } fragment B on Mutation { ${guess(2)} }`,
      `mutation { ... on Mutation { ${guess(1)} } ... { ${guess(2)} } }`,
      `mutation { ${guess(1)} r: register(input: { email: "new@members.test", password: "password-123", callsign: "NewOne" }) { jwtToken } }`,
    ];
    for (const query of attempts) {
      expectRefused(await post({ query }), "QUERY_TOO_COMPLEX", query.slice(0, 80));
    }
    expect((await t.pool.query("select count(*)::int as n from public.profiles where callsign = 'NewOne'")).rows[0].n).toBe(0);
    // One authenticate per request still signs in.
    const one = await post({ query: `mutation { authenticate(input: { email: "${scout.callsign}@members.test", password: "password-123" }) { jwtToken } }` });
    expect(one.body.errors).toBeUndefined();
    expect(one.status).toBe(200);
    expect(one.body.data.authenticate.jwtToken).toMatch(/^ey/);
  });

  it("a batch (a JSON array of operations) is refused whole with 400 BAD_REQUEST: no limit is escaped by splitting an attack over one", async () => {
    const guess = (i: number) => ({ query: `mutation { authenticate(input: { email: "${scout.callsign}@members.test", password: "guess-${i}" }) { jwtToken } }` });
    const register = { query: `mutation { register(input: { email: "batch@members.test", password: "password-123", callsign: "BatchOne" }) { jwtToken } }` };
    for (const batch of [[guess(1), guess(2)], [register], [{ query: "{ __typename }" }, { query: "{ __typename }" }]]) {
      const answer = await post(batch, scout.token);
      expect(answer.status).toBe(400);
      expect(answer.body.data).toBeUndefined();
      expect(answer.body.errors?.map((e) => [e.message, e.extensions?.code])).toEqual([["Invalid body; expected object", "BAD_REQUEST"]]);
    }
    expect((await t.pool.query("select count(*)::int as n from public.profiles where callsign = 'BatchOne'")).rows[0].n).toBe(0);
  });

  it("one voice token decision per request: 20 aliased issueVoiceTokens of 100 nets each are refused before any lookup", async () => {
    const member = await createMember(t.pool, "SCOUT");
    // One net the member may join, so any lookup that ran would charge their token bucket; 99 that do not exist.
    const names = JSON.stringify(["net-1", ...Array.from({ length: 99 }, (_, i) => `no-such-net-${i}`)]);
    const lookup = (i: number) => `t${i}: issueVoiceTokens(input: { roomNames: ${names} }) { results { requested error { code } } }`;
    for (const query of [
      `mutation { ${Array.from({ length: 20 }, (_, i) => lookup(i)).join(" ")} }`,
      `mutation { ${lookup(1)} one: issueVoiceToken(input: { roomName: "net-1" }) { token } }`,
      `mutation { ...A ...B } fragment A on Mutation { ${lookup(1)} } fragment B on Mutation { ${lookup(2)} }`,
    ]) {
      expectRefused(await post({ query }, member.token), "QUERY_TOO_COMPLEX", query.slice(0, 80));
    }
    const bucket = () => t.pool.query("select tokens from nexus_private.rate_limit_buckets where user_id = $1", [member.id]);
    expect((await bucket()).rows).toEqual([]);
    // One per request still answers, net by net, and is charged for the one token it signs.
    const one = await post({ query: `mutation { ${lookup(0)} }` }, member.token);
    expect(one.status).toBe(200);
    expect(one.body.data.t0.results).toHaveLength(100);
    expect(one.body.data.t0.results[0].error).toBeNull();
    expect(one.body.data.t0.results[1].error.code).toBe("NOT_FOUND");
    expect((await bucket()).rows).toHaveLength(1);
  });

  it(`a query nested deeper than ${MAX_DEPTH} is refused with 400 QUERY_TOO_COMPLEX, also through fragments`, async () => {
    expectRefused(await post({ query: `{ ${nested(60)} }` }, vagrant.token), "QUERY_TOO_COMPLEX");

    const viaFragments = await post(
      { query: `{ voiceNets { nodes { ...N } } } fragment N on VoiceNet { linkedSquad { voiceNetsByLinkedSquadId { nodes { ...M } } } } fragment M on VoiceNet { linkedSquad { voiceNetsByLinkedSquadId { nodes { linkedSquad { voiceNetsByLinkedSquadId { nodes { id } } } } } } }` },
      vagrant.token,
    );
    expectRefused(viaFragments, "QUERY_TOO_COMPLEX");

    const shallow = await post({ query: `{ ${nested(3, 10)} }` }, vagrant.token);
    expect(shallow.status).toBe(200);
    expect(shallow.body.errors).toBeUndefined();
  });

  it(`first/last above ${MAX_PAGE_SIZE} is QUERY_TOO_COMPLEX, a negative one BAD_REQUEST, as literals and as variables`, async () => {
    for (const [page, code] of [["first: 5000", "QUERY_TOO_COMPLEX"], ["last: 1001", "QUERY_TOO_COMPLEX"], ["first: -1", "BAD_REQUEST"], ["last: -5", "BAD_REQUEST"]] as const) {
      expectRefused(await post({ query: `{ voiceNets(${page}) { nodes { id } } }` }, vagrant.token), code, page);
      const [name, value] = page.split(": ") as [string, string];
      const variable = await post({ query: `query($n: Int) { voiceNets(${name}: $n) { nodes { id } } }`, variables: { n: Number(value) } }, vagrant.token);
      expectRefused(variable, code, `${page} as a variable`);
    }
    const nestedPage = await post({ query: `{ squads { nodes { voiceNetsByLinkedSquadId(first: 2000) { nodes { id } } } } }` }, vagrant.token);
    expectRefused(nestedPage, "QUERY_TOO_COMPLEX");

    const ok = await post({ query: `query($n: Int) { voiceNets(first: $n) { nodes { id } } }`, variables: { n: MAX_PAGE_SIZE } }, vagrant.token);
    expect(ok.status).toBe(200);
    expect(ok.body.data.voiceNets.nodes).toHaveLength(30);
  });

  it("a statement that runs past STATEMENT_TIMEOUT_MS ends with TIMEOUT on GraphQL and REST, and frees its connection", async () => {
    // An operator's long transaction holds the nets: every API statement that reads them waits, and must not wait forever.
    const blocker = new pg.Client({ connectionString: t.db.url });
    await blocker.connect();
    try {
      await blocker.query("begin; lock table public.voice_nets in access exclusive mode");
      const graphql = await post({ query: "{ voiceNets { nodes { id } } }" }, vagrant.token);
      expect(graphql.body.errors?.map((e) => e.extensions?.code)).toEqual(["TIMEOUT"]);
      expect(graphql.status).toBeLessThan(500);

      const token = await rest(t.baseUrl, "livekit-token", { roomName: "net-1" }, scout.token);
      expect(token).toEqual({ status: 503, body: { error: "TIMEOUT", message: expect.any(String) } });

      // Nothing of either request is still running in Postgres.
      const { rows } = await t.pool.query(
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
      );
      expect(rows[0].n).toBe(0);
    } finally {
      await blocker.query("rollback").catch(() => {});
      await blocker.end();
    }
    const after = await post({ query: "{ voiceNets { nodes { id } } }" }, vagrant.token);
    expect(after.body.data.voiceNets.nodes).toHaveLength(30);
  });

  it("Ruru is not served in production unless GRAPHIQL=true", async () => {
    const res = await fetch(`${t.baseUrl}/graphiql`, { headers: { accept: "text/html" } });
    expect(res.status).toBe(404);
    expect(await res.text()).not.toMatch(/ruru/i);
    const on = await startTestServer({ env: { NODE_ENV: "production", GRAPHIQL: "true" } });
    try {
      const page = await fetch(`${on.baseUrl}/graphiql`, { headers: { accept: "text/html" } });
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/ruru/i);
    } finally {
      await on.close();
    }
  });
});

describe("persisted operations (PERSISTED_OPERATIONS_DIR)", () => {
  it("run the stored operations by hash and refuse any other document with 400", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "nexus-persisted-"));
    const stored = "query Nets { voiceNets(first: 5) { nodes { id roomName } } }";
    const hash = createHash("sha256").update(stored).digest("hex");
    writeFileSync(path.join(dir, `${hash}.graphql`), stored);
    const p = await startTestServer({ env: { NODE_ENV: "production", PERSISTED_OPERATIONS_DIR: dir } });
    try {
      await p.pool.query(`insert into public.voice_nets (name, room_name) values ('Persisted', 'persisted-net')`);
      const member = await createMember(p.pool, "SCOUT");
      const send = (body: unknown) => postJson(`${p.baseUrl}/graphql`, JSON.stringify(body), bearer(member.token));
      const known = await send({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
      expect(known.status).toBe(200);
      expect(known.body.data.voiceNets.nodes).toEqual([{ id: expect.any(String), roomName: "persisted-net" }]);

      for (const body of [
        { query: stored },
        { query: "{ voiceNets { nodes { id } } }" },
        { extensions: { persistedQuery: { version: 1, sha256Hash: "0".repeat(64) } } },
        { query: stored, extensions: { persistedQuery: { version: 1, sha256Hash: "not-a-hash" } } },
      ]) {
        const refused = await send(body);
        expect(refused.status, JSON.stringify(body).slice(0, 80)).toBe(400);
        expect(refused.body.data ?? null).toBeNull();
        expect(refused.body.errors[0].extensions.code).toBe("BAD_REQUEST");
      }
    } finally {
      await p.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("every refusal carries a code", () => {
  it("graphql-js's own refusals, grafserv's body refusals, a made-up cursor and a negative offset are BAD_REQUEST, never INTERNAL", async () => {
    const refused = async (body: unknown) => {
      const answer = await post(body, scout.token);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(codes(answer), JSON.stringify(body)).toEqual(answer.body.errors!.map(() => "BAD_REQUEST"));
    };
    await refused({ query: "{" });
    await refused({ query: "{ noSuchField }" });
    await refused({ query: '{ voiceNets(first: "ten") { nodes { id } } }' });
    await refused({ query: "query { __typename } query { __typename }" });
    const legacy = await postJson(`${t.baseUrl}/graphql`, JSON.stringify({ query: "{ noSuchField }" }), { ...bearer(scout.token), accept: "application/json" });
    expect([legacy.status, legacy.body.errors?.[0]?.extensions?.code]).toEqual([400, "BAD_REQUEST"]);
    const unparsable = await postJson(`${t.baseUrl}/graphql`, "{not json", bearer(scout.token));
    expect(unparsable.status).toBe(400);
    expect(unparsable.body.errors?.[0]?.extensions?.code).toBe("BAD_REQUEST");

    // A refusal of 64 KiB or more is coded too, and does not echo a 90 KB name back: the message keeps its start
    // and end and says how much it cut. Also for a client that asks for legacy application/json.
    for (const query of [`query($${"v".repeat(90_000)}: Int) { __typename }`, `{ ...${"F".repeat(90_000)} }`]) {
      for (const accept of [undefined, "application/json"]) {
        const answer = await postJson(`${t.baseUrl}/graphql`, JSON.stringify({ query }), { ...bearer(scout.token), ...(accept ? { accept } : {}) });
        const errors = answer.body.errors as { message: string; extensions?: { code?: string } }[];
        expect(answer.status, accept).toBe(400);
        expect(errors.map((e) => e.extensions?.code), accept).toEqual(errors.map(() => "BAD_REQUEST"));
        expect(JSON.stringify(answer.body).length, accept).toBeLessThan(4096);
        expect(errors.filter((e) => / … \[\d+ characters cut\] … /.test(e.message)), accept).toHaveLength(1);
      }
    }

    // In execution: the field fails with BAD_REQUEST, and nothing is logged as a fault.
    for (const query of ['{ voiceNets(first: 5, after: "made-up") { nodes { id } } }', "{ voiceNets(first: 5, offset: -1) { nodes { id } } }"]) {
      const answer = await post({ query }, scout.token);
      expect(answer.body.data?.voiceNets ?? null, query).toBeNull();
      expect(codes(answer), query).toEqual(["BAD_REQUEST"]);
      expect(answer.body.errors?.[0]).not.toHaveProperty("extensions.errorId");
    }
  });
});
