/**
 * Right passwords are metered too (db/functions/11_sessions.sql: auth.sign_in, auth.change_password): every password
 * sign-in from one client address counts against AUTH_MAX_LOGINS_PER_ADDRESS per 5 minutes, and every password
 * change of a member against AUTH_PASSWORD_CHANGES_PER_HOUR, each refused before bcrypt is paid. The attack as the
 * review made it: `node main.ts --server` in production behind a proxy it believes (TRUST_PROXY=loopback), the real
 * supabase-js client, plain GraphQL and graphql-ws, each client with its own X-Forwarded-For.
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { beforeAll, describe, expect, it } from "vitest";
import { signJwt } from "../../core/jwt.ts";
import { graphqlOverWs } from "../support/graphql-ws.ts";
import { bearer, postJson } from "../support/http.ts";
import { useProductionServer } from "../support/production-server.ts";
import { TEST_JWT_SECRET } from "../support/server.ts";

const LOGINS = 6;
const CHANGES = 3;
const app = useProductionServer("signinrate", {
  TRUST_PROXY: "loopback",
  AUTH_MAX_LOGINS_PER_ADDRESS: String(LOGINS),
  AUTH_PASSWORD_CHANGES_PER_HOUR: String(CHANGES),
});
let anonKey: string;
beforeAll(async () => {
  anonKey = await signJwt(TEST_JWT_SECRET, { role: "anon" }, 3600);
});

function from(address: string): SupabaseClient {
  return createClient(app.nexus.baseUrl, anonKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { headers: { "x-forwarded-for": address } },
  });
}

let counter = 0;
async function account() {
  const n = ++counter;
  const email = `rate${n}@nexus.test`;
  const password = `pw-rate-${n}-secret`;
  const { error } = await from(`10.8.0.${n}`).auth.signUp({ email, password, options: { data: { callsign: `Rate${n}` } } });
  expect(error).toBeNull();
  return { email, password };
}

const AUTHENTICATE = "mutation($e: String!, $p: String!) { authenticate(input: { email: $e, password: $p }) { jwtToken } }";
const authenticate = (address: string, email: string, password: string) =>
  postJson(`${app.nexus.baseUrl}/graphql`, JSON.stringify({ query: AUTHENTICATE, variables: { e: email, p: password } }), {
    ...bearer(anonKey),
    "x-forwarded-for": address,
  });
const token = (address: string, email: string, password: string) =>
  postJson(`${app.nexus.baseUrl}/auth/v1/token?grant_type=password`, JSON.stringify({ email, password }), {
    ...bearer(anonKey),
    apikey: anonKey,
    "x-forwarded-for": address,
  });

async function liveSessions(email: string): Promise<number> {
  const { rows } = await app.pool.query(
    "select count(*)::int as n from nexus_private.sessions s join auth.users u on u.id = s.user_id where u.email = $1 and s.revoked_at is null",
    [email],
  );
  return rows[0].n;
}

describe("right passwords from one address", () => {
  it("thirty correct sign-ins at once over /auth/v1, GraphQL and graphql-ws: exactly the limit get a session", async () => {
    const { email, password } = await account();
    const address = "203.0.113.40";
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        if (i % 3 === 0) {
          const { data, error } = await from(address).auth.signInWithPassword({ email, password });
          return error ? `429:${error.code}` : data.session ? "ok" : "none";
        }
        if (i % 3 === 1) {
          const r = await authenticate(address, email, password);
          return r.body.data?.authenticate?.jwtToken ? "ok" : `${r.status}:${r.body.errors?.[0]?.extensions?.code}`;
        }
        const r = await graphqlOverWs(app.nexus.baseUrl, AUTHENTICATE, { e: email, p: password }, { "x-forwarded-for": address });
        return r.data?.authenticate?.jwtToken ? "ok" : `ws:${r.errors?.[0]?.extensions?.code}`;
      }),
    );
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(LOGINS);
    expect(outcomes.filter((o) => o !== "ok").every((o) => ["429:over_request_rate_limit", "429:RATE_LIMITED", "ws:RATE_LIMITED"].includes(o))).toBe(true);
    // One for the sign-up, one per sign-in let through.
    expect(await liveSessions(email)).toBe(1 + LOGINS);

    // The refusal as every path answers it: GoTrue's shape with Retry-After, GraphQL's 429 with retryAfter.
    const gotrue = await token(address, email, password);
    expect(gotrue.status).toBe(429);
    expect(gotrue.body).toMatchObject({ code: "over_request_rate_limit", error_code: "over_request_rate_limit" });
    expect(gotrue.body.msg).toMatch(/^too many sign-ins from this address: at most 6 in 5 minutes; try again in \d+ seconds$/);
    expect(Number(gotrue.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(gotrue.headers.get("retry-after"))).toBeLessThanOrEqual(300);
    const gql = await authenticate(address, email, password);
    expect(gql.status).toBe(429);
    expect(Number(gql.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(gql.body.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED" });
    expect(gql.body.errors?.[0]?.extensions?.retryAfter).toBeGreaterThan(0);
    const ws = await graphqlOverWs(app.nexus.baseUrl, AUTHENTICATE, { e: email, p: password }, { "x-forwarded-for": address });
    expect(ws.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED" });

    // Every account from that address is held; the same account from another address is not.
    const other = await account();
    expect((await token(address, other.email, other.password)).status).toBe(429);
    expect((await token("203.0.113.41", email, password)).status).toBe(200);
    expect(await liveSessions(email)).toBe(2 + LOGINS);
  });

  it("aliases in one GraphQL request buy no extra sign-ins", async () => {
    const { email, password } = await account();
    const address = "203.0.113.50";
    const aliased = Array.from({ length: 5 }, (_, i) => `a${i}: authenticate(input: { email: $e, password: $p }) { jwtToken }`).join(" ");
    const r = await postJson(
      `${app.nexus.baseUrl}/graphql`,
      JSON.stringify({ query: `mutation($e: String!, $p: String!) { ${aliased} }`, variables: { e: email, p: password } }),
      { ...bearer(anonKey), "x-forwarded-for": address },
    );
    expect(r.body.data?.a0?.jwtToken).toBeUndefined();
    expect(await liveSessions(email)).toBe(1);
    // Then the address still has exactly its limit.
    const statuses = [];
    for (let i = 0; i < LOGINS + 2; i++) statuses.push((await token(address, email, password)).status);
    expect(statuses).toEqual([...Array(LOGINS).fill(200), 429, 429]);
  });
});

describe("password changes per member", () => {
  it("PUT /auth/v1/user {password} in a loop: the limit, then 429 with Retry-After, and the password stays", async () => {
    const { email, password } = await account();
    const client = from("198.51.100.60");
    const { data, error } = await client.auth.signInWithPassword({ email, password });
    expect(error).toBeNull();
    const results = [];
    for (let i = 0; i < CHANGES + 3; i++) {
      const { error: changeError } = await client.auth.updateUser({ password: `changed-${i}-password` });
      results.push(changeError ? `${changeError.status}:${changeError.code}` : "ok");
    }
    expect(results).toEqual([...Array(CHANGES).fill("ok"), "429:over_request_rate_limit", "429:over_request_rate_limit", "429:over_request_rate_limit"]);
    const put = await fetch(`${app.nexus.baseUrl}/auth/v1/user`, {
      method: "PUT",
      headers: { "content-type": "application/json", apikey: anonKey, ...bearer(data.session!.access_token) },
      body: JSON.stringify({ password: "one-more-password", current_password: `changed-${CHANGES - 1}-password` }),
    });
    expect(put.status).toBe(429);
    expect(Number(put.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await put.json()).toMatchObject({ error_code: "over_request_rate_limit", msg: expect.stringMatching(/^too many password changes for this account: at most 3 an hour/) });
    // The last change that went through is the password.
    expect((await token("198.51.100.61", email, `changed-${CHANGES - 1}-password`)).status).toBe(200);
    const { rows } = await app.pool.query(
      "select count(*)::int as n from nexus_private.auth_limit_events e join auth.users u on e.subject = u.id::text where u.email = $1 and e.kind = 'password_change'",
      [email],
    );
    expect(rows[0].n).toBe(CHANGES);
  });

  it("a refused callsign beside the password does not make the change free: counted, then 429, and nothing changed", async () => {
    const holder = await account();
    const { email, password } = await account();
    const client = from("198.51.100.62");
    const { data, error } = await client.auth.signInWithPassword({ email, password });
    expect(error).toBeNull();
    const holderCallsign = `Rate${counter - 1}`;
    const statuses: number[] = [];
    for (let i = 0; i < CHANGES + 2; i++) {
      const put = await fetch(`${app.nexus.baseUrl}/auth/v1/user`, {
        method: "PUT",
        headers: { "content-type": "application/json", apikey: anonKey, ...bearer(data.session!.access_token) },
        // Taken (in another case), then one its check refuses: each paid bcrypt before the rename was refused.
        body: JSON.stringify({ password: `new-password-${i}`, current_password: password, data: { callsign: i % 2 ? "!!" : holderCallsign.toUpperCase() } }),
      });
      statuses.push(put.status);
    }
    expect(statuses).toEqual([409, 400, 409, 429, 429]);
    expect((await token("198.51.100.63", email, password)).status).toBe(200);
    expect((await token("198.51.100.64", holder.email, holder.password)).status).toBe(200);
  });
});
