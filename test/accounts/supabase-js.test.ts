/**
 * Acceptance for accounts and sessions, spoken the way the organisation's frontend speaks: the real, unmodified
 * @supabase/supabase-js client against the running server in production mode.
 */
import { createClient, isAuthApiError, type SupabaseClient } from "@supabase/supabase-js";
import { SignJWT } from "jose";
import { TokenVerifier } from "livekit-server-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signJwt } from "../../core/jwt.ts";
import { graphqlOverWs } from "../support/graphql-ws.ts";
import { bearer, postJson } from "../support/http.ts";
import { LIVEKIT_ENV, LIVEKIT_KEY, LIVEKIT_SECRET } from "../support/livekit.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "../support/server.ts";

const ORIGIN = "https://app.nomadnexus.test";
let t: TestServer;
let anonKey: string;

beforeAll(async () => {
  t = await startTestServer({
    env: { NODE_ENV: "production", CORS_ORIGINS: ORIGIN, AUTH_MAX_FAILED_LOGINS: "4", ...LIVEKIT_ENV },
  });
  anonKey = await signJwt(TEST_JWT_SECRET, { role: "anon" }, 3600);
  await t.pool.query(
    `insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
     values ('Main', 'main-net', 'VAGRANT', 'VAGRANT', 'VAGRANT')`,
  );
});
afterAll(async () => t?.close());

/** A client as the frontend makes one; sessions kept in memory, refreshes only when the test asks. */
function client(key = anonKey): SupabaseClient {
  return createClient(t.baseUrl, key, { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false } });
}

let counter = 0;
async function signedUp(callsign = `Pilot${++counter}`) {
  const supabase = client();
  const email = `${callsign.toLowerCase()}@nexus.test`;
  const password = `pw-${callsign}-secret`;
  const { data, error } = await supabase.auth.signUp({ email, password, options: { data: { callsign } } });
  expect(error).toBeNull();
  return { supabase, email, password, callsign, user: data.user!, session: data.session! };
}

describe("sign-up, sign-in and the session", () => {
  it("signs up with a callsign and gets a session with a short access token carrying session_id", async () => {
    const { user, session, callsign } = await signedUp("Nova");
    expect(user.user_metadata).toEqual({ callsign, rank: "VAGRANT" });
    expect(session.token_type).toBe("bearer");
    expect(session.expires_in).toBe(3600);
    expect(session.expires_at! - Math.floor(Date.now() / 1000)).toBeGreaterThan(3500);
    const claims = JSON.parse(Buffer.from(session.access_token.split(".")[1]!, "base64url").toString());
    expect(claims).toMatchObject({ sub: user.id, role: "authenticated", aud: "authenticated" });
    expect(claims.session_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(claims.exp - claims.iat).toBe(3600);
    const { rows } = await t.pool.query("select callsign, rank::text from public.profiles where id = $1", [user.id]);
    expect(rows).toEqual([{ callsign: "Nova", rank: "VAGRANT" }]);
  });

  it("signs in with the password; getSession and getUser answer; the token works for voice and GraphQL", async () => {
    const { email, password, user } = await signedUp();
    const supabase = client();
    const signIn = await supabase.auth.signInWithPassword({ email, password });
    expect(signIn.error).toBeNull();
    expect(signIn.data.user!.id).toBe(user.id);

    const { data: got } = await supabase.auth.getSession();
    expect(got.session!.access_token).toBe(signIn.data.session!.access_token);
    const { data: me, error } = await supabase.auth.getUser();
    expect(error).toBeNull();
    expect(me.user).toMatchObject({ id: user.id, email, user_metadata: { rank: "VAGRANT" } });

    const voice = await supabase.functions.invoke("livekit-token", { body: { roomName: "main-net", participantName: "ignored" } });
    expect(voice.error).toBeNull();
    expect(voice.data.serverUrl).toBe(LIVEKIT_ENV.LIVEKIT_URL);
    const grant = await new TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET).verify(voice.data.token);
    expect(grant.sub).toBe(user.id);

    const gql = await t.graphql("{ currentProfile { id rank } }", {}, got.session!.access_token);
    expect(gql.body.data.currentProfile).toEqual({ id: user.id, rank: "VAGRANT" });
  });

  it("refuses a wrong password as GoTrue does (AuthApiError 400 invalid_credentials)", async () => {
    const { email } = await signedUp();
    const { error } = await client().auth.signInWithPassword({ email, password: "not-the-password" });
    expect(isAuthApiError(error)).toBe(true);
    expect(error).toMatchObject({ status: 400, code: "invalid_credentials" });
  });

  it("answers a duplicate e-mail with 422 user_already_exists and a short password with AuthWeakPasswordError", async () => {
    const { email } = await signedUp();
    const dup = await client().auth.signUp({ email, password: "whatever-123", options: { data: { callsign: "Other" } } });
    expect(dup.error).toMatchObject({ status: 422, code: "user_already_exists" });
    const weak = await client().auth.signUp({ email: "weak@nexus.test", password: "short", options: { data: { callsign: "Weak" } } });
    expect(weak.error).toMatchObject({ name: "AuthWeakPasswordError", status: 422, code: "weak_password" });
  });

  it("refuses a callsign that only spaces tell from a member's, at sign-up and on updateProfile; keeps callsigns tidy", async () => {
    const { callsign } = await signedUp("Marshal");
    const lookalike = await client().auth.signUp({ email: "lookalike@nexus.test", password: "password-123", options: { data: { callsign: `${callsign} ` } } });
    expect(lookalike.error?.status).toBe(409); // as for a taken callsign
    const { session } = await signedUp("Deputy");
    const update = `mutation($c: String!) { updateProfile(input: { id: "${session.user.id}", patch: { callsign: $c } }) { profile { callsign } } }`;
    const taken = await t.graphql(update, { c: `  ${callsign.toUpperCase()}` }, session.access_token);
    expect(taken.body.errors?.[0].extensions.code).toBe("CONFLICT");
    const tidy = await t.graphql(update, { c: "Deputy   Two " }, session.access_token);
    expect(tidy.body.data?.updateProfile?.profile?.callsign).toBe("Deputy Two");
  });
});

describe("refresh tokens rotate", () => {
  it("hands out a new refresh token each time; the previous one works within 10 s; reused after that, the session dies", async () => {
    const { supabase, session } = await signedUp();
    const first = session.refresh_token;
    const refreshed = await supabase.auth.refreshSession();
    expect(refreshed.error).toBeNull();
    const second = refreshed.data.session!.refresh_token;
    expect(second).not.toBe(first);

    // A second tab refreshing with the token it had, at the same moment: still fine.
    const otherTab = await client().auth.refreshSession({ refresh_token: first });
    expect(otherTab.error).toBeNull();
    expect(otherTab.data.user!.id).toBe(session.user.id);
    // It gets the same next token as the first tab, however often the old one is presented: one chain, no forks
    // for whoever copied the old token to keep rotating on their own.
    expect(otherTab.data.session!.refresh_token).toBe(second);
    const copies = await Promise.all([1, 2, 3].map(() => client().auth.refreshSession({ refresh_token: first })));
    expect(copies.map((c) => c.data.session?.refresh_token)).toEqual([second, second, second]);

    // Ten seconds later (the rotation is moved back rather than waited for) the old token is a stolen copy.
    await t.pool.query(
      "update nexus_private.refresh_tokens set rotated_at = rotated_at - interval '11 seconds' where token_hash = sha256(convert_to($1, 'UTF8'))",
      [first],
    );
    const replay = await client().auth.refreshSession({ refresh_token: first });
    expect(replay.error).toMatchObject({ status: 400, code: "refresh_token_already_used" });
    const owner = await client().auth.refreshSession({ refresh_token: second });
    expect(owner.error).toMatchObject({ status: 400, code: "refresh_token_not_found" });
    const { rows } = await t.pool.query("select revoked_reason from nexus_private.sessions where id = $1", [
      JSON.parse(Buffer.from(session.access_token.split(".")[1]!, "base64url").toString()).session_id,
    ]);
    expect(rows).toEqual([{ revoked_reason: "refresh_token_reused" }]);
  });

  it("signs out: the session's refresh fails at once", async () => {
    const { supabase, session } = await signedUp();
    expect((await supabase.auth.signOut()).error).toBeNull();
    expect((await supabase.auth.getSession()).data.session).toBeNull();
    const after = await client().auth.refreshSession({ refresh_token: session.refresh_token });
    expect(after.error).toMatchObject({ status: 400 });
  });

  it("signs out others, keeping this session", async () => {
    const { email, password } = await signedUp();
    const a = client();
    const b = client();
    await a.auth.signInWithPassword({ email, password });
    const bSession = (await b.auth.signInWithPassword({ email, password })).data.session!;
    expect((await a.auth.signOut({ scope: "others" })).error).toBeNull();
    expect((await client().auth.refreshSession({ refresh_token: bSession.refresh_token })).error).toMatchObject({ status: 400 });
    expect((await a.auth.refreshSession()).error).toBeNull();
  });

  it("a repeated scope counts by its first value, as on GoTrue; an unknown one is 400 and ends nothing", async () => {
    const { email, password } = await signedUp();
    const other = (await client().auth.signInWithPassword({ email, password })).data.session!;
    const mine = (await client().auth.signInWithPassword({ email, password })).data.session!;
    const logout = (query: string) =>
      fetch(`${t.baseUrl}/auth/v1/logout?${query}`, { method: "POST", headers: { apikey: anonKey, authorization: `Bearer ${mine.access_token}` } });
    for (const query of ["scope=everything", "scope=everything&scope=global", "scope="]) {
      const refused = await logout(query);
      expect(refused.status, query).toBe(400);
    }
    expect((await logout("scope=global&scope=global")).status).toBe(204);
    // global, not local: the other session's refresh fails too (it used to be narrowed to this session alone).
    expect((await client().auth.refreshSession({ refresh_token: other.refresh_token })).error).toMatchObject({ status: 400 });
  });

  it("a password change (PUT /auth/v1/user) ends the member's other sessions and keeps this one", async () => {
    const { email, password } = await signedUp();
    const a = client();
    const b = client();
    await a.auth.signInWithPassword({ email, password });
    const bSession = (await b.auth.signInWithPassword({ email, password })).data.session!;
    const updated = await a.auth.updateUser({ password: "a-brand-new-password" });
    expect(updated.error).toBeNull();
    expect((await client().auth.refreshSession({ refresh_token: bSession.refresh_token })).error).toMatchObject({ status: 400 });
    expect((await a.auth.refreshSession()).error).toBeNull();
    expect((await client().auth.signInWithPassword({ email, password })).error).toMatchObject({ code: "invalid_credentials" });
    expect((await client().auth.signInWithPassword({ email, password: "a-brand-new-password" })).error).toBeNull();
  });

  it("a password change with a callsign that is refused changes nothing: 409, the old password and sessions kept", async () => {
    const taken = await signedUp();
    const { email, password, callsign, user } = await signedUp();
    const a = client();
    const b = client();
    await a.auth.signInWithPassword({ email, password });
    const bSession = (await b.auth.signInWithPassword({ email, password })).data.session!;
    const refused = await a.auth.updateUser({ password: "a-brand-new-password", data: { callsign: taken.callsign } });
    expect(refused.error).toMatchObject({ status: 409 });
    // The password change went with the callsign (it used to be committed first, and the other sessions ended).
    expect((await client().auth.signInWithPassword({ email, password })).error).toBeNull();
    expect((await client().auth.signInWithPassword({ email, password: "a-brand-new-password" })).error).toMatchObject({ code: "invalid_credentials" });
    expect((await client().auth.refreshSession({ refresh_token: bSession.refresh_token })).error).toBeNull();
    // Both at once, both fine: both applied.
    const changed = await a.auth.updateUser({ password: "a-brand-new-password", data: { callsign: `${callsign}x` } });
    expect(changed.error).toBeNull();
    expect(changed.data.user?.user_metadata).toMatchObject({ callsign: `${callsign}x` });
    expect((await client().auth.signInWithPassword({ email, password: "a-brand-new-password" })).error).toBeNull();
    // A wrong current password with a free callsign: refused, and the callsign not taken either.
    const wrong = await a.auth.updateUser({ password: "another-new-password", current_password: "not-it-at-all", data: { callsign: `${callsign}y` } });
    expect(wrong.error).toMatchObject({ code: "invalid_credentials" });
    const { rows } = await t.pool.query("select callsign from public.profiles where id = $1", [user.id]);
    expect(rows).toEqual([{ callsign: `${callsign}x` }]);
  });

  it("GraphQL refreshSession and signOut are the same sessions", async () => {
    const { session } = await signedUp();
    const refreshed = await t.graphql(
      `mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { jwtToken refreshToken } }`,
      { t: session.refresh_token },
      anonKey,
    );
    expect(refreshed.body.errors).toBeUndefined();
    const { jwtToken, refreshToken } = refreshed.body.data.refreshSession;
    const out = await t.graphql(`mutation { signOut(input: { scope: "global" }) { revoked } }`, {}, jwtToken);
    expect(out.body.data.signOut.revoked).toBe(1);
    const again = await client().auth.refreshSession({ refresh_token: refreshToken });
    expect(again.error).toMatchObject({ status: 400 });
  });
});

describe("brute force", () => {
  it("after AUTH_MAX_FAILED_LOGINS wrong passwords, sign-in is 429 RATE_LIMITED with Retry-After, on every path", async () => {
    const { email, password } = await signedUp();
    for (let i = 0; i < 4; i++) {
      const { error } = await client().auth.signInWithPassword({ email, password: `guess-${i}` });
      expect(error).toMatchObject({ status: 400, code: "invalid_credentials" });
    }
    const limited = await client().auth.signInWithPassword({ email, password });
    expect(isAuthApiError(limited.error)).toBe(true);
    expect(limited.error).toMatchObject({ status: 429, code: "over_request_rate_limit" });

    const raw = await postJson(`${t.baseUrl}/auth/v1/token?grant_type=password`, JSON.stringify({ email, password }), {
      apikey: anonKey,
      ...bearer(anonKey),
    });
    expect(raw.status).toBe(429);
    expect(Number(raw.headers.get("retry-after"))).toBeGreaterThan(0);

    const gql = await t.graphql(
      `mutation($e: String!, $p: String!) { authenticate(input: { email: $e, password: $p }) { jwtToken } }`,
      { e: email, p: password },
      anonKey,
    );
    expect(gql.status).toBe(429);
    expect(Number(gql.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(gql.body.errors?.[0].extensions).toMatchObject({ code: "RATE_LIMITED" });
    expect(gql.body.errors?.[0].extensions.retryAfter).toBeGreaterThan(0);
  });
});

describe("a member is a profile", () => {
  it("refuses a deleted member's still-valid token everywhere", async () => {
    const { supabase, user, session } = await signedUp();
    const token = session.access_token;
    await t.pool.query("delete from public.profiles where id = $1", [user.id]);

    const me = await supabase.auth.getUser();
    expect(me.error).toMatchObject({ status: 403, code: "user_not_found" });
    expect((await t.rest("livekit-token", { roomName: "main-net" }, token)).status).toBe(401);
    const gql = await t.graphql("{ currentProfile { id } profiles { nodes { id } } voiceNets { nodes { id } } }", {}, token);
    expect(gql.body.data).toEqual({ currentProfile: null, profiles: { nodes: [] }, voiceNets: { nodes: [] } });
    expect((await client().auth.refreshSession({ refresh_token: session.refresh_token })).error).toMatchObject({ status: 400 });
  });
});

describe("a session that has ended", () => {
  /** PUT /auth/v1/user as a client would send it, with this access token. */
  const putUser = (token: string, body: Record<string, unknown>) =>
    fetch(`${t.baseUrl}/auth/v1/user`, {
      method: "PUT",
      headers: { "content-type": "application/json", apikey: anonKey, ...bearer(token) },
      body: JSON.stringify(body),
    });

  it("ends its access tokens at once: no password change (no takeover), no voice token, anon to GraphQL", async () => {
    const { email, password } = await signedUp();
    const thief = client();
    const stolen = (await thief.auth.signInWithPassword({ email, password })).data.session!.access_token;
    // The owner notices and signs every session out.
    const owner = client();
    await owner.auth.signInWithPassword({ email, password });
    expect((await owner.auth.signOut({ scope: "global" })).error).toBeNull();

    // The stolen token's exp is an hour away; it is refused all the same.
    const takeover = await putUser(stolen, { password: "the-thief-owns-it-now" });
    expect(takeover.status).toBe(401);
    expect((await client().auth.signInWithPassword({ email, password })).error).toBeNull();
    expect((await client().auth.signInWithPassword({ email, password: "the-thief-owns-it-now" })).error).toMatchObject({ code: "invalid_credentials" });
    expect((await t.rest("livekit-token", { roomName: "main-net" }, stolen)).status).toBe(401);
    const gql = await t.graphql("{ currentProfile { id } voiceNets { nodes { id } } }", {}, stolen);
    expect(gql.body.data).toEqual({ currentProfile: null, voiceNets: { nodes: [] } });
    // GoTrue's answer, on which supabase-js drops the session it holds.
    const me = await thief.auth.getUser();
    expect(me.error?.name).toBe("AuthSessionMissingError");
    expect((await thief.auth.getSession()).data.session).toBeNull();
  });

  it("ends at once when an operator revokes the member's sessions, or a refresh token is reused", async () => {
    const { email, password } = await signedUp();
    const a = client();
    const token = (await a.auth.signInWithPassword({ email, password })).data.session!.access_token;
    expect((await t.rest("livekit-token", { roomName: "main-net" }, token)).status).toBe(200);
    // What `npm run nexus -- user revoke --email` runs (test/accounts/cli.test.ts runs the command itself).
    const operator = await t.pool.connect();
    try {
      await operator.query("begin");
      await operator.query(`select set_config('role', 'service_role', true), set_config('request.jwt.claims', '{"role":"service_role"}', true)`);
      await operator.query("select nexus_private.revoke_member_sessions($1)", [email]);
      await operator.query("commit");
    } catch (error) {
      await operator.query("rollback");
      throw error;
    } finally {
      operator.release();
    }
    expect((await t.rest("livekit-token", { roomName: "main-net" }, token)).status).toBe(401);

    // A refresh token presented again after the 10 s reuse window ends the session, and with it the access token
    // the thief's or the owner's last refresh handed out.
    const b = client();
    const first = (await b.auth.signInWithPassword({ email, password })).data.session!;
    const next = (await b.auth.refreshSession()).data.session!;
    await t.pool.query("update nexus_private.refresh_tokens set rotated_at = now() - interval '11 seconds' where rotated_at is not null");
    expect((await client().auth.refreshSession({ refresh_token: first.refresh_token })).error).toMatchObject({ status: 400 });
    expect((await t.rest("livekit-token", { roomName: "main-net" }, next.access_token)).status).toBe(401);
  });

  it("guessing the current password on PUT /auth/v1/user counts as wrong sign-ins: 429 after AUTH_MAX_FAILED_LOGINS", async () => {
    const { email, password, session } = await signedUp();
    for (let i = 0; i < 4; i++) {
      const guess = await putUser(session.access_token, { password: `guess-${i}-password`, current_password: `guess-${i}-password` });
      expect(guess.status).toBe(401);
    }
    const limited = await putUser(session.access_token, { password, current_password: password });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({ error_code: "over_request_rate_limit" });
    // One count for the account, whichever path guesses.
    expect((await client().auth.signInWithPassword({ email, password })).error).toMatchObject({ status: 429 });
  });
});

describe("tokens the edge refuses before any SQL", () => {
  it("a member token for another audience, and an anon or service_role token that names a member", async () => {
    const { user } = await signedUp();
    const forOther = await new SignJWT({ role: "authenticated", aud: "other-service" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(user.id)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    const anonNamingMember = await new SignJWT({ role: "anon" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(user.id)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    for (const token of [forOther, anonNamingMember]) {
      expect((await t.graphql("{ currentProfile { id } }", {}, token)).status).toBe(401);
      expect((await t.rest("livekit-token", { roomName: "main-net" }, token)).status).toBe(401);
      expect((await client(token).auth.getUser(token)).error).toMatchObject({ status: 401 });
    }
  });
});

describe("service_role tokens at the HTTP edge", () => {
  it("are refused with 401 on /auth/v1, /graphql and /functions/v1", async () => {
    const serviceKey = await signJwt(TEST_JWT_SECRET, { role: "service_role" }, 3600);
    const { error } = await client(serviceKey).auth.signInWithPassword({ email: "x@nexus.test", password: "whatever-123" });
    expect(error).toMatchObject({ status: 401, code: "bad_jwt" });
    expect((await t.graphql("{ profiles { nodes { id } } }", {}, serviceKey)).status).toBe(401);
    expect((await t.rest("livekit-token", { roomName: "main-net" }, serviceKey)).status).toBe(401);
  });
});

describe("CORS for the browser", () => {
  it("lets the frontend's origin send every method and header supabase-js uses", async () => {
    const preflight = await fetch(`${t.baseUrl}/auth/v1/user`, {
      method: "OPTIONS",
      headers: {
        origin: ORIGIN,
        "access-control-request-method": "PUT",
        "access-control-request-headers": "authorization, apikey, content-type, x-client-info, x-supabase-api-version",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(preflight.headers.get("access-control-allow-methods")).toContain("PUT");
    for (const header of ["authorization", "apikey", "content-type", "x-client-info", "x-supabase-api-version"]) {
      expect(preflight.headers.get("access-control-allow-headers")).toContain(header);
    }
    const other = await fetch(`${t.baseUrl}/auth/v1/user`, { method: "OPTIONS", headers: { origin: "https://evil.test" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("AUTH_PASSWORD_CHANGE_REQUIRES_CURRENT", () => {
  it("a copied access token alone cannot change the password: 400 current_password_required; with it, the change is made", async () => {
    const strict = await startTestServer({ env: { NODE_ENV: "production", AUTH_PASSWORD_CHANGE_REQUIRES_CURRENT: "true" } });
    try {
      const supabase = createClient(strict.baseUrl, anonKey, { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false } });
      const signedUp = await supabase.auth.signUp({ email: "strict@nexus.test", password: "strict-password-1", options: { data: { callsign: "Strict" } } });
      expect(signedUp.error).toBeNull();
      const takeover = await supabase.auth.updateUser({ password: "attacker-password" });
      expect(takeover.error).toMatchObject({ status: 400, code: "current_password_required" });
      const owner = await supabase.auth.updateUser({ password: "strict-password-2", current_password: "strict-password-1" });
      expect(owner.error).toBeNull();
      expect((await supabase.auth.signInWithPassword({ email: "strict@nexus.test", password: "strict-password-2" })).error).toBeNull();
    } finally {
      await strict.close();
    }
  });
});

describe("the sign-up limit per client address", () => {
  let proxied: TestServer;
  let direct: TestServer;
  beforeAll(async () => {
    proxied = await startTestServer({ env: { NODE_ENV: "production", AUTH_SIGNUPS_PER_HOUR: "2", TRUST_PROXY: "loopback" } });
    direct = await startTestServer({ env: { NODE_ENV: "production", AUTH_SIGNUPS_PER_HOUR: "1" } });
  });
  afterAll(async () => {
    await proxied?.close();
    await direct?.close();
  });

  const signUp = (server: TestServer, n: number, forwardedFor: string) =>
    postJson(
      `${server.baseUrl}/auth/v1/signup`,
      JSON.stringify({ email: `limit${n}@nexus.test`, password: "password-123", data: { callsign: `Limit${n}` } }),
      { ...bearer(anonKey), "x-forwarded-for": forwardedFor },
    );

  it("counts the forwarded address when TRUST_PROXY believes the proxy", async () => {
    expect((await signUp(proxied, 1, "203.0.113.5")).status).toBe(200);
    expect((await signUp(proxied, 2, "203.0.113.5")).status).toBe(200);
    const third = await signUp(proxied, 3, "203.0.113.5");
    expect(third.status).toBe(429);
    expect(third.body).toMatchObject({ code: "over_request_rate_limit" });
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await signUp(proxied, 4, "203.0.113.6")).status).toBe(200);
  });

  it("counts sign-ups over a GraphQL WebSocket per client address too, not all in one bucket", async () => {
    const registerOverWs = (n: number, forwardedFor: string) =>
      graphqlOverWs(
        proxied.baseUrl,
        `mutation($e: String!, $c: String!) { register(input: { email: $e, password: "password-123", callsign: $c }) { userId } }`,
        { e: `wslimit${n}@nexus.test`, c: `WsLimit${n}` },
        { "x-forwarded-for": forwardedFor },
      );
    // AUTH_SIGNUPS_PER_HOUR is 2 here: three addresses, one sign-up each, all pass.
    for (const [n, address] of [[1, "192.0.2.1"], [2, "192.0.2.2"], [3, "192.0.2.3"]] as const) {
      expect((await registerOverWs(n, address)).data?.register?.userId, address).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect((await registerOverWs(4, "192.0.2.1")).data?.register?.userId).toMatch(/^[0-9a-f-]{36}$/);
    const third = await registerOverWs(5, "192.0.2.1");
    expect(third.errors?.[0]?.extensions?.code).toBe("RATE_LIMITED");
  });

  it("ignores X-Forwarded-For otherwise, so a client cannot pick a fresh address per request", async () => {
    expect((await signUp(direct, 5, "198.51.100.1")).status).toBe(200);
    expect((await signUp(direct, 6, "198.51.100.2")).status).toBe(429);
  });
});
