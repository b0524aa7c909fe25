/**
 * A session's refresh token rows are bounded (db/functions/11_sessions.sql): at most 60 refreshes of one session an
 * hour (then 429), rotated tokens kept for 7 days (the 10 newest longer), trimmed by the next refresh or the hourly
 * sweep. And a rotated token replayed after the reuse window still revokes the session, however fast a thief
 * holding the live token refreshed meanwhile (review 7: eleven quick refreshes used to push the owner's copy out,
 * so the owner was signed out and the thief kept the session). `node main.ts --server` in production, the real
 * supabase-js client and GraphQL `refreshSession`.
 */
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { beforeAll, describe, expect, it } from "vitest";
import { signJwt } from "../../core/jwt.ts";
import { bearer, postJson } from "../support/http.ts";
import { createMember, type Member } from "../support/members.ts";
import { useProductionServer } from "../support/production-server.ts";
import { TEST_JWT_SECRET } from "../support/server.ts";

const app = useProductionServer("refreshrows");
let anonKey: string;
beforeAll(async () => {
  anonKey = await signJwt(TEST_JWT_SECRET, { role: "anon" }, 3600);
});

function client(): SupabaseClient {
  return createClient(app.nexus.baseUrl, anonKey, { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false } });
}

const REFRESH = "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { refreshToken sessionId } }";
async function refreshOverGraphql(refreshToken: string): Promise<string> {
  const r = await postJson(`${app.nexus.baseUrl}/graphql`, JSON.stringify({ query: REFRESH, variables: { t: refreshToken } }), bearer(anonKey));
  expect(r.body.errors).toBeUndefined();
  return r.body.data.refreshSession.refreshToken;
}

async function rowsOf(sessionId: string): Promise<number> {
  const { rows } = await app.pool.query("select count(*)::int as n from nexus_private.refresh_tokens where session_id = $1", [sessionId]);
  return rows[0].n;
}

/** Every rotated token of the session as if rotated 11 seconds ago: past the 10 s reuse window. */
async function pastTheReuseWindow(sessionId: string) {
  await app.pool.query(
    "update nexus_private.refresh_tokens set rotated_at = now() - interval '11 seconds' where session_id = $1 and rotated_at is not null",
    [sessionId],
  );
}

let member: Member;
async function signIn() {
  const { data, error } = await client().auth.signInWithPassword({ email: `${member.callsign}@members.test`, password: "password-123" });
  expect(error).toBeNull();
  return data.session!;
}

beforeAll(async () => {
  member = await createMember(app.pool, "VAGRANT");
});

/** Every rotated token of the session as if rotated `ago`: past the retention. */
async function rotatedAgo(sessionId: string, ago: string) {
  await app.pool.query("update nexus_private.refresh_tokens set rotated_at = now() - $2::interval where session_id = $1 and rotated_at is not null", [sessionId, ago]);
}

async function sessionOf(refreshToken: string): Promise<string> {
  const { rows } = await app.pool.query("select t.session_id from nexus_private.refresh_tokens t where t.token_hash = sha256(convert_to($1, 'UTF8'))", [refreshToken]);
  return rows[0].session_id as string;
}

const revokedReason = async (sessionId: string) =>
  (await app.pool.query("select revoked_reason from nexus_private.sessions where id = $1", [sessionId])).rows[0].revoked_reason;

/** `times` refreshes in a row from `token`, by turns over supabase-js and GraphQL: the newest token. */
async function refreshTimes(token: string, times: number): Promise<string> {
  for (let i = 0; i < times; i++) {
    if (i % 2) token = await refreshOverGraphql(token);
    else {
      const { data, error } = await client().auth.refreshSession({ refresh_token: token });
      expect(error).toBeNull();
      token = data.session!.refresh_token;
    }
  }
  return token;
}

describe("refresh token rows of one session", () => {
  it("a thief sharing the live token refreshes eleven times at once; the owner's copy still revokes the session", async () => {
    const session = await signIn();
    const shared = session.refresh_token;
    const thief = await refreshTimes(shared, 11);
    const sessionId = await sessionOf(thief);
    await pastTheReuseWindow(sessionId);
    const owner = await client().auth.refreshSession({ refresh_token: shared });
    expect(owner.error).toMatchObject({ status: 400, code: "refresh_token_already_used" });
    expect(await revokedReason(sessionId)).toBe("refresh_token_reused");
    expect((await client().auth.refreshSession({ refresh_token: thief })).error).toMatchObject({ status: 400 });
  });

  it("60 refreshes an hour, then 429 on /auth/v1 and GraphQL; past the retention 11 rows are left and the head works", async () => {
    const session = await signIn();
    const token = await refreshTimes(session.refresh_token, 60);
    const sessionId = await sessionOf(token);
    expect(await rowsOf(sessionId)).toBe(61);
    const refused = await client().auth.refreshSession({ refresh_token: token });
    expect(refused.error).toMatchObject({ status: 429, code: "over_request_rate_limit" });
    const overGraphql = await postJson(`${app.nexus.baseUrl}/graphql`, JSON.stringify({ query: REFRESH, variables: { t: token } }), bearer(anonKey));
    expect(overGraphql.body.errors[0].extensions).toMatchObject({ code: "RATE_LIMITED" });
    expect(overGraphql.body.errors[0].extensions.retryAfter).toBeGreaterThan(0);
    expect(await rowsOf(sessionId)).toBe(61);

    // A week on (backdated), with the hour's refreshes gone from the count: the sweep keeps the head and 10 rotated.
    await rotatedAgo(sessionId, "8 days");
    await app.pool.query("delete from nexus_private.auth_limit_events where kind = 'session_refresh' and subject = $1", [sessionId]);
    await app.pool.query("select nexus_private.prune_sign_in_state()");
    expect(await rowsOf(sessionId)).toBe(11);
    const { error } = await client().auth.refreshSession({ refresh_token: token });
    expect(error).toBeNull();
    expect(await revokedReason(sessionId)).toBeNull();
  });
});
