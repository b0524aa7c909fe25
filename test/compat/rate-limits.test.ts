import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type NexusServer } from "../../server/app.ts";
import { loadConfig } from "../../core/config.ts";
import { createPool } from "../../core/database/pool.ts";
import { createLogger } from "../../core/log.ts";
import { modules } from "../../server/modules.ts";
import { LIVEKIT_ENV } from "../support/livekit.ts";
import { createMember, tokenFor, type Member } from "../support/members.ts";
import { rest } from "../support/http.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "../support/server.ts";

/**
 * Per-member rate limits at both edges: LiveKit tokens for voice nets and sim pods (a token bucket kept in Postgres, so every server behind
 * the load balancer sees the same one) and the hourly rescue flare limit. Both answer 429 RATE_LIMITED with the
 * seconds to wait: the REST `Retry-After` header, GraphQL `extensions.retryAfter`.
 */
let t: TestServer;
let second: { baseUrl: string; server: NexusServer; pool: ReturnType<typeof createPool> };
const LIMITS = { LIVEKIT_TOKEN_BURST: "3", LIVEKIT_TOKENS_PER_MINUTE: "6", FLARE_MAX_PER_HOUR: "2" };

beforeAll(async () => {
  t = await startTestServer({ env: { ...LIVEKIT_ENV, ...LIMITS } });
  // A second server on the same database: stateless servers share one bucket per member.
  const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: t.db.url, JWT_SECRET: TEST_JWT_SECRET, ...LIVEKIT_ENV, ...LIMITS });
  const log = createLogger("silent");
  const pool = createPool(t.db.url, log);
  const server = await createServer({ config, pool, log });
  await new Promise<void>((resolve) => server.server.listen(0, "127.0.0.1", resolve));
  second = { baseUrl: `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`, server, pool };
  await t.pool.query(`insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
                      values ('Test room', 'test-room', 'VAGRANT', 'VAGRANT', 'SCOUT')`);
});
afterAll(async () => {
  await second?.server.close();
  await second?.pool.end();
  await t?.close();
});

const ISSUE = `mutation($input: IssueVoiceTokenInput!) { issueVoiceToken(input: $input) { token } }`;
const FIRE = `mutation($input: FireRescueFlareInput!) { fireRescueFlare(input: $input) { rescueFlare { id } } }`;
const CANCEL = `mutation($input: CancelRescueFlareInput!) { cancelRescueFlare(input: $input) { rescueFlare { status } } }`;

async function bucketOf(member: Member) {
  const { rows } = await t.pool.query("select tokens from nexus_private.rate_limit_buckets where user_id = $1", [member.id]);
  return rows[0]?.tokens as number | undefined;
}

describe("LiveKit token rate limit (LIVEKIT_TOKEN_BURST, LIVEKIT_TOKENS_PER_MINUTE)", () => {
  it("REST livekit-token: the burst is issued, then 429 RATE_LIMITED with Retry-After, across two servers", async () => {
    const scout = await createMember(t.pool, "SCOUT");
    const started = Date.now();
    const answers = [];
    for (const base of [t.baseUrl, second.baseUrl, t.baseUrl]) {
      answers.push(await rest(base, "livekit-token", { roomName: "test-room", participantName: "Scout1" }, scout.token));
    }
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const refused = await rest(second.baseUrl, "livekit-token", { roomName: "test-room" }, scout.token);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ error: "RATE_LIMITED", message: expect.stringMatching(/at most 3 at once, then 6 a minute/) });
    // One token refills every 10 s at 6 a minute, and the bucket has been refilling since the first charge: on a
    // loaded machine these four requests can take seconds.
    const elapsed = (Date.now() - started) / 1000;
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(Math.max(1, Math.floor(9 - elapsed)));
    expect(Number(refused.headers.get("retry-after"))).toBeLessThanOrEqual(10);
    expect(await bucketOf(scout)).toBeLessThan(1);
  });

  it("GraphQL issueVoiceToken shares the bucket and answers extensions.code RATE_LIMITED with retryAfter", async () => {
    const scout = await createMember(t.pool, "SCOUT");
    for (let i = 0; i < 2; i++) expect((await t.graphql(ISSUE, { input: { roomName: "test-room" } }, scout.token)).body.errors).toBeUndefined();
    expect((await rest(t.baseUrl, "livekit-token", { roomName: "test-room" }, scout.token)).status).toBe(200);
    const refused = await t.graphql(ISSUE, { input: { roomName: "test-room" } }, scout.token);
    expect(refused.body.data?.issueVoiceToken).toBeNull();
    expect(refused.body.errors?.[0].extensions).toEqual({ code: "RATE_LIMITED", retryAfter: expect.any(Number) });
    expect(refused.body.errors?.[0].extensions.retryAfter).toBeGreaterThanOrEqual(9);
  });

  it("refills at the configured rate: a bucket last charged 10 s ago gives one more token", async () => {
    const scout = await createMember(t.pool, "SCOUT");
    for (let i = 0; i < 3; i++) expect((await rest(t.baseUrl, "livekit-token", { roomName: "test-room" }, scout.token)).status).toBe(200);
    expect((await rest(t.baseUrl, "livekit-token", { roomName: "test-room" }, scout.token)).status).toBe(429);
    await t.pool.query("update nexus_private.rate_limit_buckets set refilled_at = refilled_at - interval '10.5 seconds' where user_id = $1", [scout.id]);
    expect((await rest(t.baseUrl, "livekit-token", { roomName: "test-room" }, scout.token)).status).toBe(200);
    expect((await rest(t.baseUrl, "livekit-token", { roomName: "test-room" }, scout.token)).status).toBe(429);
  });

  it.skipIf(!modules.some((m) => m.name === "academy"))("sim pod tokens (academy-accept, academy-join) take from the same bucket; a refused accept leaves the request PENDING", async () => {
    const [cadet, mentor] = await Promise.all([createMember(t.pool, "VAGRANT"), createMember(t.pool, "FOUNDER")]);
    const { rows } = await t.pool.query("insert into public.skills (name) values ('Rate-limited skill') returning id");
    await t.pool.query("insert into public.mentor_certifications (user_id, skill_id) values ($1, $2)", [mentor.id, rows[0].id]);
    const requested = await rest(t.baseUrl, "academy-request", { skillId: rows[0].id }, cadet.token);
    expect(requested.status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await rest(t.baseUrl, "livekit-token", { roomName: "test-room" }, mentor.token)).status).toBe(200);
    const refused = await rest(t.baseUrl, "academy-accept", { requestId: requested.body.requestId }, mentor.token);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(9);
    const { rows: request } = await t.pool.query("select status from public.academy_requests where id = $1", [requested.body.requestId]);
    expect(request[0].status).toBe("PENDING");

    await t.pool.query("update nexus_private.rate_limit_buckets set refilled_at = refilled_at - interval '20 seconds' where user_id = $1", [mentor.id]);
    const accepted = await rest(t.baseUrl, "academy-accept", { requestId: requested.body.requestId }, mentor.token);
    expect(accepted.status).toBe(200);
    // The cadet's own token comes from academy-join, charged to the cadet's bucket.
    for (let i = 0; i < 3; i++) expect((await rest(t.baseUrl, "academy-join", { simPodId: accepted.body.simPodId }, cadet.token)).status).toBe(200);
    expect((await rest(t.baseUrl, "academy-join", { simPodId: accepted.body.simPodId }, cadet.token)).status).toBe(429);
  });

  it("a token for a member who no longer exists is still UNAUTHENTICATED, not a bucket error", async () => {
    const ghost = await tokenFor(crypto.randomUUID());
    const res = await rest(t.baseUrl, "livekit-token", { roomName: "test-room" }, ghost);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: "UNAUTHENTICATED" });
  });

  it("one member's empty bucket does not limit another member", async () => {
    const [a, b] = await Promise.all([createMember(t.pool, "SCOUT"), createMember(t.pool, "VAGRANT")]);
    for (let i = 0; i < 3; i++) await rest(t.baseUrl, "livekit-token", { roomName: "test-room" }, a.token);
    expect((await rest(t.baseUrl, "livekit-token", { roomName: "test-room" }, a.token)).status).toBe(429);
    expect((await rest(t.baseUrl, "livekit-token", { roomName: "test-room" }, b.token)).status).toBe(200);
  });
});

describe("rescue flare hourly limit (FLARE_MAX_PER_HOUR)", () => {
  it("REST handle-rescue-request answers 429 with Retry-After: the seconds until the oldest flare leaves the hour", async () => {
    const scout = await createMember(t.pool, "SCOUT");
    for (let i = 0; i < 2; i++) {
      const fired = await rest(t.baseUrl, "handle-rescue-request", { location: "Stanton III - Crusader", flareType: "MEDICAL" }, scout.token);
      expect(fired.status).toBe(200);
      expect((await t.graphql(CANCEL, { input: { flareId: fired.body.flareId } }, scout.token)).body.errors).toBeUndefined();
    }
    const refused = await rest(t.baseUrl, "handle-rescue-request", { location: "Stanton III - Crusader", flareType: "MEDICAL" }, scout.token);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ error: "RATE_LIMITED", message: expect.stringMatching(/at most 2 rescue flares per hour/) });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(3500);
    expect(Number(refused.headers.get("retry-after"))).toBeLessThanOrEqual(3600);

    const viaGraphql = await t.graphql(FIRE, { input: { location: "Lorville", flareType: "COMBAT" } }, scout.token);
    expect(viaGraphql.body.errors?.[0].extensions).toEqual({ code: "RATE_LIMITED", retryAfter: expect.any(Number) });
    expect(viaGraphql.body.errors?.[0].extensions.retryAfter).toBeGreaterThan(3500);
    const { rows } = await t.pool.query("select count(*)::int as n from public.rescue_flares where requester_id = $1", [scout.id]);
    expect(rows[0].n).toBe(2);
  });
});
