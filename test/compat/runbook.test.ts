import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenVerifier } from "livekit-server-sdk";
import webpush from "web-push";
import { modules } from "../../server/modules.ts";
import { liveKitBody, signWebhook } from "../support/livekit.ts";
import { createMember, RANKS, type Rank } from "../support/members.ts";
import { freePort } from "../../core/net.ts";
import { spawnWorker, type WorkerProcess } from "../support/processes.ts";
import { startPushService, type PushService, type Subscriber } from "../support/push-service.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "../support/server.ts";
import { eventually } from "../support/eventually.ts";
import { postJson } from "../support/http.ts";

/**
 * The deployment runbook (shared/000_3bf730bac681db28.txt), run in order against the real server: every curl
 * example of Phases 3.2, 4.2 and 6.1–6.4 with the JWT of a member of the rank it names (obtained with
 * `authenticate`, as the frontend gets one), asserting the documented status and body shape, then the runbook's
 * SQL (2.3, 4.2, 6.4, 7.2, 7.3) exactly as written, asserting the rows it shows.
 *
 * The worker runs as its own process (trusting the local Web Push service's certificate, as a production worker
 * trusts FCM's); the push service decrypts every message, so "push notification delivered" is checked on the
 * receiving side.
 */
const LIVEKIT_KEY = "APIrunbook";
const LIVEKIT_SECRET = "runbook-livekit-secret-runbook-livekit-secret";
const vapid = webpush.generateVAPIDKeys();
/** The academy (issue #6) brings academy-request and academy-accept; phase 6.2 runs when it is in this build. */
const ACADEMY_BUILT = modules.some((m) => m.name === "academy");

let t: TestServer;
let service: PushService;
let worker: WorkerProcess;
const jwt = {} as Record<Rank, string>;
const userId = {} as Record<Rank, string>;
const callsign = {} as Record<Rank, string>;

beforeAll(async () => {
  // Nothing listens on this port: LiveKit itself is not part of this test (the presence reconcile sweep finds it
  // unreachable and leaves presence as the webhooks wrote it).
  const livekitPort = await freePort();
  const env = {
    LIVEKIT_URL: `wss://127.0.0.1:${livekitPort}`,
    LIVEKIT_API_KEY: LIVEKIT_KEY,
    LIVEKIT_API_SECRET: LIVEKIT_SECRET,
    NEXT_PUBLIC_VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    VAPID_SUBJECT: "mailto:admin@nomadnexus.com",
    CORS_ORIGINS: "https://yourdomain.com,https://www.yourdomain.com",
  };
  service = await startPushService({ vapidPublicKey: vapid.publicKey });
  t = await startTestServer({ env: { ...env, ...service.env } });
  worker = await spawnWorker({
    ...env,
    ...service.env,
    DATABASE_URL: t.db.url,
    JWT_SECRET: TEST_JWT_SECRET,
    // The runbook's hand-made webhook says it joined in December 2023: keep the stale sweep from closing it.
    PRESENCE_MAX_OPEN_HOURS: "100000",
  });
  for (const rank of RANKS) {
    const member = await createMember(t.pool, rank, `${rank[0]}${rank.slice(1).toLowerCase()}1`);
    const signedIn = await t.graphql(`mutation($i: AuthenticateInput!) { authenticate(input: $i) { jwtToken userId } }`, {
      i: { email: `${member.callsign}@members.test`, password: "password-123" },
    });
    expect(signedIn.body.errors).toBeUndefined();
    jwt[rank] = signedIn.body.data.authenticate.jwtToken;
    userId[rank] = member.id;
    callsign[rank] = member.callsign;
  }
}, 120_000);

afterAll(async () => {
  await worker?.kill("SIGTERM");
  await t?.close();
  await service?.close();
});

/** `curl -X POST https://…/functions/v1/<name> -H "Authorization: Bearer …" -H "Content-Type: application/json" -d '…'` */
function curl(name: string, authorization: string | undefined, body: string) {
  return postJson(`${t.baseUrl}/functions/v1/${name}`, body, authorization ? { authorization } : {});
}

const sql = async (text: string) => (await t.pool.query(text)).rows;

/** Rows of `query` once `done` holds for them. */
const rowsOnce = (what: string, query: string, done: (rows: any[]) => boolean) =>
  eventually(what, async () => {
    const rows = await sql(query);
    return done(rows) ? rows : undefined;
  });

async function grantsOf(token: string) {
  return new TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET).verify(token);
}

describe("the deployment runbook, in order", () => {
  it("2.3 verify tables exist: all 5 tables appear", async () => {
    const rows = await sql(`SELECT table_name FROM information_schema.tables 
WHERE table_schema = 'public' 
  AND table_name IN (
    'voice_nets', 
    'voice_net_bridges', 
    'voice_presence', 
    'push_subscriptions', 
    'notification_queue'
  );`);
    expect(rows.map((r) => r.table_name).sort()).toEqual(["notification_queue", "push_subscriptions", "voice_net_bridges", "voice_nets", "voice_presence"]);
  });

  it("3.2 test function accessibility: 401 with an invalid JWT, 200 {token, serverUrl} with a valid one", async () => {
    // The operator's SQL-editor habit: the runbook's test-room, listen for everyone, transmit from SCOUT.
    await sql(`insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
               values ('Test room', 'test-room', 'VAGRANT', 'VAGRANT', 'SCOUT')`);
    const body = '{"roomName":"test-room","participantName":"TestUser"}';
    const invalid = await curl("livekit-token", "Bearer YOUR_JWT_TOKEN", body);
    expect(invalid.status).toBe(401);
    expect(invalid.body).toEqual({ error: "UNAUTHENTICATED", message: expect.any(String) });
    expect(invalid.headers.get("www-authenticate")).toMatch(/^Bearer/);

    const ok = await curl("livekit-token", `Bearer ${jwt.SCOUT}`, body);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ token: expect.stringMatching(/^ey[\w-]+\.[\w-]+\.[\w-]+$/), serverUrl: expect.stringMatching(/^wss:\/\//) });
  });

  it("4.2 test webhook delivery: the hand-made body with a made-up signature is 401; signed as LiveKit signs, it lands in voice_presence", async () => {
    const body = `{
    "event": "participant_joined",
    "room": "test-room",
    "participant": {
      "identity": "test-user-123",
      "sid": "PA_test123",
      "metadata": "{\\"userId\\":\\"uuid-123\\",\\"role\\":\\"Scout\\"}"
    },
    "timestamp": 1702050000
  }`;
    const post = (authorization: string) =>
      fetch(`${t.baseUrl}/functions/v1/livekit-webhook`, { method: "POST", headers: { "Content-Type": "application/json", Authorization: authorization }, body });
    const unsigned = await post("YOUR_HMAC_SIGNATURE");
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toMatchObject({ error: "UNAUTHENTICATED" });
    expect(await sql("select count(*)::int as n from public.voice_presence")).toEqual([{ n: 0 }]);

    const signed = await post(await signWebhook(body, { key: LIVEKIT_KEY, secret: LIVEKIT_SECRET }));
    expect(signed.status).toBe(200);
    expect(await signed.json()).toMatchObject({ received: true, enqueued: true });

    const query = "SELECT * FROM voice_presence WHERE room_name = 'test-room' ORDER BY joined_at DESC LIMIT 5;";
    const rows = await rowsOnce("the webhook's presence row", query, (r) => r.length > 0);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      room_name: "test-room",
      participant_identity: "test-user-123",
      participant_sid: "PA_test123",
      participant_metadata: { userId: "uuid-123", role: "Scout" },
      left_at: null,
      // Neither the identity nor metadata.userId is a member's id.
      user_id: null,
    });
    expect(rows[0].net_id).toBe((await sql("select id from public.voice_nets where room_name = 'test-room'"))[0].id);
    expect((rows[0].joined_at as Date).toISOString()).toBe(new Date(1702050000 * 1000).toISOString());
  });

  it("5.1 CORS: the frontend's origins and Vite's dev origin get a preflight answer, others none", async () => {
    for (const origin of ["https://yourdomain.com", "https://www.yourdomain.com", "http://localhost:5173", "https://elsewhere.example"]) {
      const res = await fetch(`${t.baseUrl}/functions/v1/livekit-token`, {
        method: "OPTIONS",
        headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type, apikey, x-client-info" },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe(origin === "https://elsewhere.example" ? null : origin);
    }
  });

  it("6.1 LiveKit token generation with different ranks: SCOUT and above may publish, VAGRANT and AFFILIATE listen only", async () => {
    const scout = await curl("livekit-token", `Bearer ${jwt.SCOUT}`, '{"roomName":"test-room","participantName":"Scout1"}');
    expect(scout.status).toBe(200);
    expect(scout.body).toMatchObject({ token: expect.any(String), serverUrl: expect.stringMatching(/^wss:\/\//), canPublish: true, canSubscribe: true });
    const vagrant = await curl("livekit-token", `Bearer ${jwt.VAGRANT}`, '{"roomName":"test-room","participantName":"Vagrant1"}');
    expect(vagrant.status).toBe(200);
    expect(vagrant.body).toMatchObject({ token: expect.any(String), canPublish: false, canSubscribe: true });

    for (const rank of RANKS) {
      const res = await curl("livekit-token", `Bearer ${jwt[rank]}`, `{"roomName":"test-room","participantName":"${rank}1"}`);
      expect(res.status, rank).toBe(200);
      const grants = await grantsOf(res.body.token);
      const mayPublish = !["VAGRANT", "AFFILIATE"].includes(rank);
      expect(grants.video).toMatchObject({ room: "test-room", roomJoin: true, canPublish: mayPublish, canSubscribe: true });
      // Identity and name come from the JWT and the database, not from participantName.
      expect(grants.sub).toBe(userId[rank]);
      expect(grants.name).toBe(callsign[rank]);
      expect(JSON.parse(grants.metadata!)).toEqual({ userId: userId[rank], rank, callsign: callsign[rank] });
    }
  });

  it.skipIf(!ACADEMY_BUILT)("6.2 academy flow: a cadet requests a skill, a certified mentor accepts and gets the sim pod's connection token", async () => {
    // The operator's SQL-editor habit: a skill, and a PIONEER certified to mentor it.
    const [skill] = await sql(`insert into public.skills (name) values ('Medical triage') returning id`);
    await sql(`insert into public.mentor_certifications (user_id, skill_id) values ('${userId.PIONEER}', '${skill.id}')`);

    // 1. Create request (any member can be a cadet: here a VAGRANT)
    const requested = await curl("academy-request", `Bearer ${jwt.VAGRANT}`, `{"skillId":"${skill.id}"}`);
    expect(requested.status).toBe(200);
    expect(requested.body).toEqual({ requestId: expect.stringMatching(/^[0-9a-f-]{36}$/), status: "PENDING" });

    // 2. Accept request (as mentor): a member not certified for the skill is refused, the certified mentor wins.
    const notMentor = await curl("academy-accept", `Bearer ${jwt.FOUNDER}`, `{"requestId":"${requested.body.requestId}"}`);
    expect(notMentor.status).toBe(403);
    expect(notMentor.body).toMatchObject({ error: "INSUFFICIENT_CLEARANCE" });
    const accepted = await curl("academy-accept", `Bearer ${jwt.PIONEER}`, `{"requestId":"${requested.body.requestId}"}`);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ simPodId: expect.stringMatching(/^sim-pod-[0-9a-f]+$/), connectionTokens: [expect.objectContaining({ token: expect.any(String) })] });
    const grants = await grantsOf(accepted.body.connectionTokens[0].token);
    expect(grants.sub).toBe(userId.PIONEER);
    expect(grants.video).toMatchObject({ room: accepted.body.simPodId, roomJoin: true, canPublish: true, canSubscribe: true });

    expect(await sql(`select status, mentor_id, sim_pod_id from public.academy_requests where id = '${requested.body.requestId}'`)).toEqual([
      { status: "ACCEPTED", mentor_id: userId.PIONEER, sim_pod_id: accepted.body.simPodId },
    ]);
    const again = await curl("academy-accept", `Bearer ${jwt.PIONEER}`, `{"requestId":"${requested.body.requestId}"}`);
    expect(again.status).toBe(409);
  });

  it("6.3 push notifications: subscribe, then a SCOUT's rescue flare reaches every other subscribed device", async () => {
    // The runbook's placeholder keys are not a browser's keys: refused, nothing stored.
    const placeholder = await curl(
      "notifications-subscribe",
      `Bearer ${jwt.VOYAGER}`,
      `{
    "endpoint": "https://fcm.googleapis.com/fcm/send/xxx",
    "auth": "auth-string-here",
    "p256dh": "p256dh-key-here"
  }`,
    );
    expect(placeholder.status).toBe(400);
    expect(placeholder.body).toMatchObject({ error: "BAD_REQUEST" });
    expect(await sql("select count(*)::int as n from public.push_subscriptions")).toEqual([{ n: 0 }]);

    const devices = new Map<Rank, Subscriber>();
    for (const rank of ["VAGRANT", "VOYAGER", "FOUNDER", "SCOUT"] as const) {
      const device = service.subscribe();
      const res = await curl(
        "notifications-subscribe",
        `Bearer ${jwt[rank]}`,
        JSON.stringify({ endpoint: device.endpoint, auth: device.auth, p256dh: device.p256dh }),
      );
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ success: true });
      devices.set(rank, device);
    }

    const refused = await curl("handle-rescue-request", `Bearer ${jwt.AFFILIATE}`, '{"location":"Stanton III - Crusader","flareType":"MEDICAL"}');
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: "INSUFFICIENT_CLEARANCE" });

    const fired = await curl("handle-rescue-request", `Bearer ${jwt.SCOUT}`, '{"location":"Stanton III - Crusader","flareType":"MEDICAL"}');
    expect(fired.status).toBe(200);
    expect(fired.body).toEqual({ flareId: expect.stringMatching(/^[0-9a-f-]{36}$/), status: "OPEN" });

    const others = (["VAGRANT", "VOYAGER", "FOUNDER"] as const).map((rank) => devices.get(rank)!);
    await service.waitFor(() => others.every((d) => service.deliveriesFor(d.id).length === 1), 30_000);
    for (const device of others) {
      expect(service.deliveriesFor(device.id)[0]!.payload).toMatchObject({
        type: "RESCUE_FLARE",
        flareId: fired.body.flareId,
        location: "Stanton III - Crusader",
        flareType: "MEDICAL",
        requesterCallsign: callsign.SCOUT,
      });
    }
    expect(service.deliveriesFor(devices.get("SCOUT")!.id)).toEqual([]);
    expect(service.rejected).toEqual([]);
  }, 60_000);

  it("6.4 net bridging (Founder+ only): a VOYAGER is refused, a FOUNDER links, and voice_net_bridges shows the bridge", async () => {
    // "Create two voice nets first"
    const [net1, net2] = await sql(`insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
      values ('Net one', 'net-1', 'SCOUT', 'SCOUT', 'SCOUT'), ('Net two', 'net-2', 'SCOUT', 'SCOUT', 'VOYAGER') returning id`);
    const body = `{
    "sourceNetId":"${net1.id}",
    "targetNetId":"${net2.id}",
    "action":"link"
  }`;
    const refused = await curl("net-bridge", `Bearer ${jwt.VOYAGER}`, body);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: "INSUFFICIENT_CLEARANCE" });
    expect(await sql("SELECT * FROM voice_net_bridges;")).toEqual([]);

    const linked = await curl("net-bridge", `Bearer ${jwt.FOUNDER}`, body);
    expect(linked.status).toBe(200);
    expect(linked.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), source_net_id: net1.id, target_net_id: net2.id });

    const bridges = await sql("SELECT * FROM voice_net_bridges;");
    expect(bridges).toEqual([expect.objectContaining({ id: linked.body.id, source_net_id: net1.id, target_net_id: net2.id, created_by: userId.FOUNDER })]);
  });

  it("7.2 monitor webhook events: recent presence with ranks, and the stale count", async () => {
    const now = Math.floor(Date.now() / 1000);
    // LiveKit's own deliveries for two members joining with tokens from livekit-token: one now, one 11 minutes ago
    // that never left (a lost participant_left).
    for (const [rank, joinedAt] of [["SCOUT", now], ["VOYAGER", now - 660]] as const) {
      const body = liveKitBody("participant_joined", "test-room", joinedAt, {
        identity: userId[rank],
        sid: `PA_${rank}`,
        name: callsign[rank],
        metadata: JSON.stringify({ userId: userId[rank], rank, callsign: callsign[rank] }),
      });
      const res = await fetch(`${t.baseUrl}/livekit/webhook`, {
        method: "POST",
        headers: { "content-type": "application/webhook+json", authorization: await signWebhook(body, { key: LIVEKIT_KEY, secret: LIVEKIT_SECRET }) },
        body,
      });
      expect(res.status).toBe(200);
    }
    const recent = `-- Check recent presence events
SELECT 
  room_name, 
  participant_identity, 
  joined_at, 
  left_at,
  participant_metadata->>'rank' as rank
FROM voice_presence 
WHERE joined_at > now() - interval '1 hour'
ORDER BY joined_at DESC 
LIMIT 20;`;
    const rows = await rowsOnce("the two members' presence", recent, (r) => r.length === 2);
    expect(rows).toEqual([
      { room_name: "test-room", participant_identity: userId.SCOUT, joined_at: expect.any(Date), left_at: null, rank: "SCOUT" },
      { room_name: "test-room", participant_identity: userId.VOYAGER, joined_at: expect.any(Date), left_at: null, rank: "VOYAGER" },
    ]);

    const stale = await sql(`-- Check stale presence (possible webhook failures)
SELECT COUNT(*) as stale_count
FROM voice_presence 
WHERE left_at IS NULL 
  AND joined_at < now() - interval '10 minutes';`);
    // The VOYAGER who joined 11 minutes ago, and the runbook's test participant from 4.2 (December 2023).
    expect(stale).toEqual([{ stale_count: "2" }]);
  });

  it("7.3 monitor the notification queue: nothing pending, and the flare's deliveries are the recent ones", async () => {
    const pending = await sql(`-- Check pending notifications
SELECT 
  type, 
  COUNT(*) as count,
  MAX(created_at) as latest
FROM notification_queue 
WHERE sent_at IS NULL 
GROUP BY type;`);
    expect(pending).toEqual([]);

    const recent = await sql(`-- Check recent deliveries
SELECT * FROM notification_queue 
WHERE sent_at IS NOT NULL 
ORDER BY sent_at DESC 
LIMIT 10;`);
    expect(recent).toHaveLength(3);
    for (const row of recent) {
      expect(row).toMatchObject({ type: "RESCUE_FLARE", sent_at: expect.any(Date), failed_at: null, last_error: null, attempts: 1 });
      expect(row.payload).toMatchObject({ type: "RESCUE_FLARE", location: "Stanton III - Crusader", flareType: "MEDICAL" });
    }
    expect(new Set(recent.map((r) => r.user_id))).toEqual(new Set([userId.VAGRANT, userId.VOYAGER, userId.FOUNDER]));
  });
});
