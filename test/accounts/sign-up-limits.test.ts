/**
 * Sign-up as an attacker who wants to know which e-mails have accounts (review 5, enum-signup.sh): `node main.ts
 * --server` in production behind a proxy it believes (TRUST_PROXY=loopback), each client with its own
 * X-Forwarded-For. A taken callsign answers the same whatever the e-mail, and every sign-up refused as taken is
 * counted against AUTH_SIGNUPS_PER_HOUR (db/functions/11_sessions.sql, auth.register), on /auth/v1, GraphQL over
 * HTTP and graphql-ws alike.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { signJwt } from "../../core/jwt.ts";
import { graphqlOverWs } from "../support/graphql-ws.ts";
import { bearer, postJson } from "../support/http.ts";
import { useProductionServer } from "../support/production-server.ts";
import { TEST_JWT_SECRET } from "../support/server.ts";

const SIGNUPS_PER_HOUR = 4;
const app = useProductionServer("signups", { TRUST_PROXY: "loopback", AUTH_SIGNUPS_PER_HOUR: String(SIGNUPS_PER_HOUR) });
let anonKey: string;
const member = { email: "held@nexus.test", callsign: "Held1" };
beforeAll(async () => {
  anonKey = await signJwt(TEST_JWT_SECRET, { role: "anon" }, 3600);
  const made = await signUp("10.7.0.1", member.email, member.callsign);
  expect(made.status).toBe(200);
});

const PASSWORD = "whatever-password";
const REGISTER = "mutation($e: String!, $p: String!, $c: String!) { register(input: { email: $e, password: $p, callsign: $c }) { jwtToken } }";

/** POST /auth/v1/signup as supabase-js sends it. */
function signUp(address: string, email: string, callsign: string) {
  return postJson(`${app.nexus.baseUrl}/auth/v1/signup`, JSON.stringify({ email, password: PASSWORD, data: { callsign } }), {
    ...bearer(anonKey),
    "x-forwarded-for": address,
  });
}

/** GraphQL `register` over HTTP. */
function register(address: string, email: string, callsign: string) {
  return postJson(`${app.nexus.baseUrl}/graphql`, JSON.stringify({ query: REGISTER, variables: { e: email, p: PASSWORD, c: callsign } }), {
    ...bearer(anonKey),
    "x-forwarded-for": address,
  });
}

/** GraphQL `register` over graphql-ws. */
function registerOverWs(address: string, email: string, callsign: string) {
  return graphqlOverWs(app.nexus.baseUrl, REGISTER, { e: email, p: PASSWORD, c: callsign }, { "x-forwarded-for": address });
}

let unknown = 0;
const unknownEmail = () => `nobody${++unknown}@nexus.test`;

describe("a taken callsign as a probe", () => {
  it("answers the same for an e-mail that has an account and one that has none, on /auth/v1, GraphQL and graphql-ws", async () => {
    const known = await signUp("203.0.113.20", member.email, member.callsign);
    const stranger = await signUp("203.0.113.20", unknownEmail(), member.callsign);
    expect(known).toEqual({ status: 409, body: { code: "conflict", error_code: "conflict", msg: `callsign ${member.callsign} is taken` } });
    expect(stranger).toEqual(known);

    const knownGql = await register("203.0.113.21", member.email, member.callsign);
    const strangerGql = await register("203.0.113.21", unknownEmail(), member.callsign);
    expect(knownGql.body.errors?.[0]).toMatchObject({ message: `callsign ${member.callsign} is taken`, extensions: { code: "CONFLICT" } });
    expect(strangerGql).toEqual(knownGql);

    const knownWs = await registerOverWs("203.0.113.22", member.email, member.callsign);
    const strangerWs = await registerOverWs("203.0.113.22", unknownEmail(), member.callsign);
    expect(knownWs.errors?.[0]).toMatchObject({ message: `callsign ${member.callsign} is taken`, extensions: { code: "CONFLICT" } });
    expect(strangerWs).toEqual(knownWs);
  });

  it("still refuses a known e-mail with a free callsign as GoTrue does (422 user_already_exists): the limit bounds that", async () => {
    const taken = await signUp("203.0.113.23", member.email.toUpperCase(), "FreeOne");
    expect(taken).toMatchObject({ status: 422, body: { code: "user_already_exists" } });
    const takenGql = await register("203.0.113.23", member.email, "FreeTwo");
    expect(takenGql.body.errors?.[0]?.extensions).toMatchObject({ code: "CONFLICT" });
  });
});

describe("refused sign-ups are counted per address", () => {
  it(`after AUTH_SIGNUPS_PER_HOUR refusals the next sign-up is RATE_LIMITED with Retry-After, on every path`, async () => {
    const address = "192.0.2.40";
    // Alternate the paths and the kinds of refusal; each is still answered until the limit.
    expect((await signUp(address, member.email, member.callsign)).status).toBe(409);
    expect((await register(address, unknownEmail(), member.callsign)).body.errors?.[0]?.extensions?.code).toBe("CONFLICT");
    expect((await signUp(address, member.email, "FreeThree")).status).toBe(422);
    expect((await registerOverWs(address, unknownEmail(), member.callsign)).errors?.[0]?.extensions?.code).toBe("CONFLICT");
    const { rows } = await app.pool.query("select count(*)::int as n from nexus_private.auth_limit_events where kind = 'sign_up' and subject = $1", [address]);
    expect(rows[0].n).toBe(SIGNUPS_PER_HOUR);

    // The probe is refused now, and so is a sign-up that would have made an account.
    const limited = await signUp(address, unknownEmail(), member.callsign);
    expect(limited).toMatchObject({ status: 429, body: { code: "over_request_rate_limit" } });
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    const fresh = await signUp(address, "fresh1@nexus.test", "Fresh1");
    expect(fresh.status).toBe(429);
    const gql = await register(address, member.email, member.callsign);
    expect(gql.status).toBe(429);
    expect(gql.body.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED" });
    expect(gql.body.errors?.[0]?.extensions?.retryAfter).toBeGreaterThan(0);
    expect(Number(gql.headers.get("retry-after"))).toBeGreaterThan(0);
    const ws = await registerOverWs(address, unknownEmail(), member.callsign);
    expect(ws.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED" });
    expect(ws.errors?.[0]?.extensions?.retryAfter).toBeGreaterThan(0);

    // Another address is not held, and no refusal made an account.
    expect((await signUp("192.0.2.41", member.email, member.callsign)).status).toBe(409);
    expect((await signUp("192.0.2.41", "fresh2@nexus.test", "Fresh2")).status).toBe(200);
    const accounts = await app.pool.query("select email from auth.users order by email");
    expect(accounts.rows.map((r) => r.email)).toEqual(["fresh2@nexus.test", member.email]);
  });
});
