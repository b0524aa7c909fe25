/**
 * The sign-in limits as an attacker meets them: `node main.ts --server` in production behind a proxy it believes
 * (TRUST_PROXY=loopback), the real supabase-js client for /auth/v1 and plain GraphQL requests, each client with its
 * own X-Forwarded-For. Wrong passwords count per account and address, per address over all accounts, and per
 * account over all addresses (db/functions/11_sessions.sql, nexus_private.sign_in_wait).
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { beforeAll, describe, expect, it } from "vitest";
import { signJwt } from "../../core/jwt.ts";
import { bearer, postJson } from "../support/http.ts";
import { productionEnv, startNexusProcess } from "../support/nexus-process.ts";
import { useProductionServer } from "../support/production-server.ts";
import { TEST_JWT_SECRET } from "../support/server.ts";


const app = useProductionServer("limits", {
  TRUST_PROXY: "loopback",
  AUTH_MAX_FAILED_LOGINS: "3",
  AUTH_MAX_FAILED_LOGINS_PER_ADDRESS: "6",
  AUTH_MAX_FAILED_LOGINS_PER_ACCOUNT: "8",
});
let anonKey: string;
beforeAll(async () => {
  anonKey = await signJwt(TEST_JWT_SECRET, { role: "anon" }, 3600);
});

/** supabase-js as the frontend makes it, behind the proxy at `address`. */
function from(address: string, server = app.nexus): SupabaseClient {
  return createClient(server.baseUrl, anonKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { headers: { "x-forwarded-for": address } },
  });
}

let counter = 0;
async function account() {
  const n = ++counter;
  const email = `limits${n}@nexus.test`;
  const password = `pw-limits-${n}-secret`;
  const { error } = await from(`10.9.0.${n}`).auth.signUp({ email, password, options: { data: { callsign: `Limits${n}` } } });
  expect(error).toBeNull();
  return { email, password };
}

async function signIn(address: string, email: string, password: string) {
  const { data, error } = await from(address).auth.signInWithPassword({ email, password });
  return error ? { status: error.status, code: error.code } : { status: 200, session: data.session };
}

const authenticate = (address: string, email: string, password: string) =>
  postJson(
    `${app.nexus.baseUrl}/graphql`,
    JSON.stringify({
      query: "mutation($e: String!, $p: String!) { authenticate(input: { email: $e, password: $p }) { jwtToken } }",
      variables: { e: email, p: password },
    }),
    { ...bearer(anonKey), "x-forwarded-for": address },
  );

describe("failed sign-ins per account and address", () => {
  it("a stranger who knows an e-mail locks it only for their own address; the owner still signs in", async () => {
    const { email, password } = await account();
    for (let i = 0; i < 3; i++) expect(await signIn("203.0.113.9", email, `guess-${i}`)).toEqual({ status: 400, code: "invalid_credentials" });
    expect(await signIn("203.0.113.9", email, password)).toEqual({ status: 429, code: "over_request_rate_limit" });
    const gql = await authenticate("203.0.113.9", email, password);
    expect(gql.status).toBe(429);
    expect(gql.body.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED" });
    expect(gql.body.errors?.[0]?.message).toMatch(/too many failed sign-ins for this account from this address/);

    const owner = await signIn("198.51.100.4", email, password);
    expect(owner.status).toBe(200);
    expect(owner.session?.access_token).toBeTruthy();
    const signedIn = await authenticate("198.51.100.4", email, password);
    expect(signedIn.body.data?.authenticate?.jwtToken).toBeTruthy();
    // Tokens are not for caches on the way, on GraphQL or /auth/v1.
    expect(signedIn.headers.get("cache-control")).toBe("no-store");
    const token = await postJson(`${app.nexus.baseUrl}/auth/v1/token?grant_type=password`, JSON.stringify({ email, password }), {
      ...bearer(anonKey),
      "x-forwarded-for": "198.51.100.4",
    });
    expect(token.status).toBe(200);
    expect(token.headers.get("cache-control")).toBe("no-store");
    expect(token.headers.get("etag")).toBeNull();
  });

  it("twenty guesses at once from one address, over /auth/v1 and GraphQL together: exactly the limit is judged", async () => {
    const { email, password } = await account();
    const statuses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 ? signIn("192.0.2.7", email, `guess-${i}`).then((r) => r.status) : authenticate("192.0.2.7", email, `guess-${i}`).then((r) => r.status),
      ),
    );
    // A judged wrong password is 400 on /auth/v1 and 200 with an UNAUTHENTICATED error on GraphQL; a refusal 429.
    expect(statuses.filter((s) => s === 429)).toHaveLength(17);
    const { rows } = await app.pool.query(
      "select count(*)::int as n from nexus_private.auth_limit_events where kind = 'sign_in_failure' and subject = $1 and client_address = '192.0.2.7'",
      [email],
    );
    expect(rows[0].n).toBe(3);
    expect((await signIn("192.0.2.7", email, password)).status).toBe(429);
    expect((await signIn("192.0.2.8", email, password)).status).toBe(200);
  });

  it("one address spraying a password over many accounts is refused for every account past AUTH_MAX_FAILED_LOGINS_PER_ADDRESS", async () => {
    const targets = await Promise.all(Array.from({ length: 7 }, () => account()));
    for (const target of targets.slice(0, 6)) expect((await signIn("192.0.2.66", target.email, "Winter2026!")).status).toBe(400);
    const seventh = targets[6]!;
    expect(await signIn("192.0.2.66", seventh.email, seventh.password)).toEqual({ status: 429, code: "over_request_rate_limit" });
    expect((await authenticate("192.0.2.66", seventh.email, seventh.password)).status).toBe(429);
    expect((await signIn("192.0.2.67", seventh.email, seventh.password)).status).toBe(200);
  });

  it("guesses for one account from many addresses meet AUTH_MAX_FAILED_LOGINS_PER_ACCOUNT, which holds the owner too", async () => {
    const { email, password } = await account();
    for (let i = 1; i <= 8; i++) expect((await signIn(`100.64.1.${i}`, email, "guess")).status).toBe(400);
    expect(await signIn("198.51.100.5", email, password)).toEqual({ status: 429, code: "over_request_rate_limit" });
  });
});

describe("an undeclared proxy", () => {
  it("is named in one warning: X-Forwarded-For arrives while TRUST_PROXY is false", async () => {
    const direct = await startNexusProcess(productionEnv(app.db.url, "direct"), ["--server"]);
    try {
      for (const address of ["203.0.113.1", "203.0.113.2"]) {
        const answer = await postJson(
          `${direct.baseUrl}/auth/v1/token?grant_type=password`,
          JSON.stringify({ email: "nobody@nexus.test", password: "not-a-password" }),
          { ...bearer(anonKey), "x-forwarded-for": address },
        );
        expect(answer.status).toBe(400);
      }
      await direct.waitFor("X-Forwarded-For but TRUST_PROXY is false");
      const warnings = direct.output().split("\n").filter((line) => line.includes("X-Forwarded-For but TRUST_PROXY is false"));
      expect(warnings).toHaveLength(1);
      expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40, address: expect.stringMatching(/127\.0\.0\.1$/), path: "/auth/v1/token" });
      // Both were counted as the connection's address, not as what the header claimed.
      const { rows } = await app.pool.query(
        "select client_address, count(*)::int as n from nexus_private.auth_limit_events where subject = 'nobody@nexus.test' group by 1",
      );
      expect(rows).toEqual([{ client_address: "127.0.0.1", n: 2 }]);
    } finally {
      await direct.stop();
    }
  }, 90_000);
});
