/**
 * A session refreshed in a loop keeps a bounded number of refresh token rows (db/functions/11_sessions.sql:
 * auth.refresh_session trims to the live token and the 10 newest rotated ones; the hourly sweep trims older chains),
 * while a rotated token it still keeps, replayed after the reuse window, revokes the session as before. The attack
 * as the review made it: `node main.ts --server` in production, the real supabase-js client and GraphQL
 * `refreshSession`.
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

describe("refresh token rows of one session", () => {
  it("300 refreshes over /auth/v1 and GraphQL keep 11 rows, before and after the sweep", async () => {
    const session = await signIn();
    const { rows } = await app.pool.query("select id from nexus_private.sessions where user_id = $1", [member.id]);
    const sessionId = rows[0].id as string;
    let token = session.refresh_token;
    for (let i = 0; i < 300; i++) {
      if (i % 2) {
        token = await refreshOverGraphql(token);
      } else {
        const { data, error } = await client().auth.refreshSession({ refresh_token: token });
        expect(error).toBeNull();
        token = data.session!.refresh_token;
      }
    }
    expect(await rowsOf(sessionId)).toBe(11);
    await app.pool.query("select nexus_private.prune_sign_in_state()");
    expect(await rowsOf(sessionId)).toBe(11);
    // The head still works: trimming its ancestors took nothing down the chain.
    const { error } = await client().auth.refreshSession({ refresh_token: token });
    expect(error).toBeNull();
  });

  it("a replayed token among the kept ones still revokes the session; an older one is refused and revokes nothing", async () => {
    const session = await signIn();
    const tokens = [session.refresh_token];
    for (let i = 0; i < 30; i++) {
      const { data, error } = await client().auth.refreshSession({ refresh_token: tokens.at(-1)! });
      expect(error).toBeNull();
      tokens.push(data.session!.refresh_token);
    }
    const { rows } = await app.pool.query(
      "select t.session_id from nexus_private.refresh_tokens t where t.token_hash = sha256(convert_to($1, 'UTF8'))",
      [tokens.at(-1)],
    );
    const sessionId = rows[0].session_id as string;
    await pastTheReuseWindow(sessionId);

    const ancient = await client().auth.refreshSession({ refresh_token: tokens[5]! });
    expect(ancient.error).toMatchObject({ status: 400, code: "refresh_token_not_found" });
    expect((await app.pool.query("select revoked_reason from nexus_private.sessions where id = $1", [sessionId])).rows[0].revoked_reason).toBeNull();

    const stolen = await client().auth.refreshSession({ refresh_token: tokens.at(-4)! });
    expect(stolen.error).toMatchObject({ status: 400, code: "refresh_token_already_used" });
    expect((await app.pool.query("select revoked_reason from nexus_private.sessions where id = $1", [sessionId])).rows[0].revoked_reason).toBe(
      "refresh_token_reused",
    );
    const owner = await client().auth.refreshSession({ refresh_token: tokens.at(-1)! });
    expect(owner.error).toMatchObject({ status: 400 });
  });
});
