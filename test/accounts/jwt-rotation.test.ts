/**
 * Rotating JWT_SECRET with JWT_PREVIOUS_SECRET set to the old one: tokens signed with the old secret (the
 * frontend's anon key above all) keep working on every path while the frontend is redeployed, nothing new is
 * signed with it, /metrics counts what still uses it, and a token signed with any other secret is refused as
 * before. Production `node main.ts --server`; the real supabase-js with an anon key of the old secret.
 */
import { createHmac } from "node:crypto";
import { createClient } from "@supabase/supabase-js";
import { expect, it } from "vitest";
import { signJwt } from "../../core/jwt.ts";
import { loadConfig } from "../../core/config.ts";
import { graphqlOverWs } from "../support/graphql-ws.ts";
import { bearer, postJson } from "../support/http.ts";
import { createMember, type Member } from "../support/members.ts";
import { useProductionServer } from "../support/production-server.ts";
import { TEST_JWT_SECRET } from "../support/server.ts";

const OLD = "the-secret-we-are-rotating-away-from-0123456789";
const OTHER = "a-secret-this-server-never-had-0123456789abcdef";
let member: Member;
const app = useProductionServer("rotation", { JWT_PREVIOUS_SECRET: OLD }, async ({ pool }) => {
  member = await createMember(pool, "SCOUT");
  await pool.query("insert into public.voice_nets (name, room_name) values ('Rotation', 'rotation-net')");
});

const signedWith = (secret: string, sub?: string, ttl = 3600) => signJwt(secret, { sub, role: sub ? "authenticated" : "anon" }, ttl);
const profile = (token: string) => postJson(`${app.nexus.baseUrl}/graphql`, JSON.stringify({ query: "{ currentProfile { callsign } }" }), bearer(token));
const voiceToken = (token: string) => postJson(`${app.nexus.baseUrl}/functions/v1/livekit-token`, JSON.stringify({ roomName: "rotation-net" }), bearer(token));

it("accepts a member's token and the anon key signed with the previous secret on GraphQL, REST, graphql-ws and /auth/v1", async () => {
  const old = await signedWith(OLD, member.id);
  expect((await profile(old)).body.data.currentProfile).toEqual({ callsign: member.callsign });
  expect((await voiceToken(old)).status).toBe(200);
  const overWs = await graphqlOverWs(app.nexus.baseUrl, "{ currentProfile { callsign } }", {}, { authorization: `Bearer ${old}` });
  expect(overWs.data?.currentProfile).toEqual({ callsign: member.callsign });

  // The frontend's anon key of the old secret: supabase-js signs up and in with it; what it is handed is signed
  // with the new secret.
  const supabase = createClient(app.nexus.baseUrl, await signedWith(OLD), { auth: { persistSession: false, autoRefreshToken: false } });
  const { data, error } = await supabase.auth.signUp({ email: "rotating@nexus.test", password: "rotating-password", options: { data: { callsign: "Rotor" } } });
  expect(error).toBeNull();
  expect((await profile(data.session!.access_token)).body.data.currentProfile).toEqual({ callsign: "Rotor" });
  // Signed with the new secret: a server that no longer knows the old one accepts it.
  const [h, p, sig] = data.session!.access_token.split(".");
  expect(createHmac("sha256", TEST_JWT_SECRET).update(`${h}.${p}`).digest("base64url")).toBe(sig);
});

it("refuses a token signed with any other secret, and one of the previous secret that has expired, as before", async () => {
  for (const token of [await signedWith(OTHER, member.id), await signedWith(OTHER)]) {
    const refused = await profile(token);
    expect(refused.status).toBe(401);
    expect(refused.body.errors[0].message).toBe("token signature is invalid");
    expect((await voiceToken(token)).status).toBe(401);
  }
  const expired = await signedWith(OLD, member.id, -10);
  const refused = await profile(expired);
  expect(refused.status).toBe(401);
  expect(refused.body.errors[0].message).toBe("token expired");
});

it("counts what still uses the previous secret on /metrics, per role; the log said it is set", async () => {
  const metrics = await fetch(`${app.nexus.baseUrl}/metrics`, { headers: { authorization: "Bearer rotation-metrics-token" } });
  const text = await metrics.text();
  const count = (role: string) => Number(new RegExp(`^nexus_jwt_previous_secret_accepted_total\\{role="${role}"\\} (\\d+)`, "m").exec(text)?.[1]);
  expect(count("authenticated")).toBeGreaterThanOrEqual(3);
  expect(count("anon")).toBeGreaterThanOrEqual(1);
  expect(count("service_role")).toBe(0);
  expect(app.nexus.output()).toContain("JWT_PREVIOUS_SECRET is set: tokens signed with it are still accepted");
});

it("config: the previous secret must be a real HS256 key and not the current one", () => {
  expect(() => loadConfig({ JWT_SECRET: TEST_JWT_SECRET, JWT_PREVIOUS_SECRET: "short" })).toThrow(/^config: JWT_PREVIOUS_SECRET must be at least 32 characters/);
  expect(() => loadConfig({ JWT_SECRET: TEST_JWT_SECRET, JWT_PREVIOUS_SECRET: TEST_JWT_SECRET })).toThrow(/JWT_PREVIOUS_SECRET is the same as JWT_SECRET/);
  expect(loadConfig({ JWT_SECRET: TEST_JWT_SECRET, JWT_PREVIOUS_SECRET: OLD }).jwt.previousSecret).toBe(OLD);
});
