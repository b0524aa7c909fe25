import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMember, type Member } from "../support/members.ts";
import { LIVEKIT_ENV, liveKitBody, postWebhook, signWebhook, type ParticipantSpec } from "../support/livekit.ts";
import { runQueuedJobs } from "../support/jobs.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

let t: TestServer;
let scout: Member;

beforeAll(async () => {
  t = await startTestServer({ env: LIVEKIT_ENV });
  scout = await createMember(t.pool, "SCOUT");
  await t.pool.query("insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx) values ('Ops', 'ops-net', 'SCOUT', 'SCOUT', 'SCOUT')");
});
afterAll(async () => t?.close());

async function queueAndPresence() {
  const jobs = await t.pool.query("select count(*)::int as n from graphile_worker.jobs");
  const presence = await t.pool.query("select count(*)::int as n from public.voice_presence");
  return { jobs: jobs.rows[0].n, presence: presence.rows[0].n };
}

/** Apply every queued webhook job, as a worker would; none may be left behind. */
async function drained() {
  await runQueuedJobs(t);
  const { rows } = await t.pool.query("select id, attempts, last_error from graphile_worker.jobs where task_identifier in ('presence__apply_event', 'presence__apply_events')");
  expect(rows, "webhook jobs left in the queue").toEqual([]);
}

function shuffle<T>(items: T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

describe("signature verification", () => {
  const body = () => liveKitBody("participant_joined", "ops-net", 1_771_000_000, { identity: "intruder", sid: "PA_intruder" });

  it("refuses unsigned, tampered, wrong-key, wrong-secret and expired deliveries with 401, writing nothing", async () => {
    const before = await queueAndPresence();
    const b = body();
    const cases: Array<[string, string | undefined, string]> = [
      ["unsigned", undefined, b],
      ["garbage", "not-a-jwt", b],
      ["tampered body", await signWebhook(b), b.replace("intruder", "intruded")],
      ["wrong key", await signWebhook(b, { key: "APIotherkey" }), b],
      ["wrong secret", await signWebhook(b, { secret: "another-secret-another-secret-another-secret" }), b],
      ["expired", await signWebhook(b, { ttl: -60 }), b],
      ["the old X-Livekit-Signature habit", undefined, b],
    ];
    for (const [label, auth, sent] of cases) {
      const res = await postWebhook(t.baseUrl, sent, auth);
      expect(res.status, label).toBe(401);
      expect((await res.json()).error, label).toBe("UNAUTHENTICATED");
    }
    expect(await queueAndPresence()).toEqual(before);
  });

  it("answers 400 for a signed body that is not an event", async () => {
    for (const junk of ["[1,2,3]", "{\"hello\":1}", "not json at all"]) {
      const res = await postWebhook(t.baseUrl, junk, await signWebhook(junk));
      expect(res.status, junk).toBe(400);
    }
  });

  it("acknowledges but does not enqueue events it does not mirror", async () => {
    const b = liveKitBody("track_published", "ops-net", 1_771_000_000);
    const res = await postWebhook(t.baseUrl, b, await signWebhook(b));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ received: true, enqueued: false });
  });
});

describe("presence mirror", () => {
  it("accepts the runbook's hand-made test body on the Supabase path", async () => {
    const body = JSON.stringify({
      event: "participant_joined",
      room: "test-room",
      participant: { identity: "test-user-123", sid: "PA_test123", metadata: '{"userId":"uuid-123","role":"Scout"}' },
      timestamp: 1702050000,
    });
    const res = await postWebhook(t.baseUrl, body, await signWebhook(body), "/functions/v1/livekit-webhook");
    expect(res.status).toBe(200);
    await drained();
    // The runbook's own check, verbatim.
    const { rows } = await t.pool.query("SELECT * FROM voice_presence WHERE room_name = 'test-room' ORDER BY joined_at DESC LIMIT 5;");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ participant_identity: "test-user-123", participant_sid: "PA_test123", left_at: null });
    expect(rows[0].joined_at.toISOString()).toBe(new Date(1702050000 * 1000).toISOString());
  });

  it("ends a shuffled burst with duplicates exactly as a correct mirror would", async () => {
    const base = 1_771_300_000;
    const bodies: string[] = [];
    const expected = new Map<string, { room: string; joined: number; left: number | null }>();
    const participant = (i: number, room: string): ParticipantSpec => ({
      identity: i === 1 ? scout.id : `guest-${i}`,
      sid: `PA_${room}_${i}`,
      name: `Guest ${i}`,
      metadata: JSON.stringify(i === 1 ? { userId: scout.id, rank: "SCOUT", callsign: scout.callsign } : { rank: "VAGRANT" }),
    });
    // ops-net: 40 sessions, every third leaves. wing-net: 20 sessions, then the room finishes, then 5 new sessions.
    for (let i = 0; i < 40; i++) {
      const p = participant(i, "ops-net");
      bodies.push(liveKitBody("participant_joined", "ops-net", base + i, p));
      const leaves = i % 3 === 0;
      if (leaves) bodies.push(liveKitBody(i % 2 ? "participant_left" : "participant_connection_aborted", "ops-net", base + 100 + i, p));
      expected.set(p.sid, { room: "ops-net", joined: base + i, left: leaves ? base + 100 + i : null });
    }
    for (let i = 0; i < 20; i++) {
      const p = participant(i, "wing-net");
      bodies.push(liveKitBody("participant_joined", "wing-net", base + i, p));
      expected.set(p.sid, { room: "wing-net", joined: base + i, left: base + 500 });
    }
    bodies.push(liveKitBody("room_finished", "wing-net", base + 500));
    for (let i = 20; i < 25; i++) {
      const p = participant(i, "wing-net");
      bodies.push(liveKitBody("participant_joined", "wing-net", base + 600 + i, p));
      expected.set(p.sid, { room: "wing-net", joined: base + 600 + i, left: null });
    }
    // Every delivery three times (LiveKit retries), all shuffled.
    const deliveries = shuffle(bodies.flatMap((b) => [b, b, b]));
    for (let i = 0; i < deliveries.length; i += 16) {
      const batch = deliveries.slice(i, i + 16);
      const answers = await Promise.all(batch.map(async (b) => postWebhook(t.baseUrl, b, await signWebhook(b))));
      for (const a of answers) expect(a.status).toBe(200);
    }
    await drained();
    const { rows } = await t.pool.query(
      "select room_name, participant_sid, extract(epoch from joined_at)::bigint as joined, extract(epoch from left_at)::bigint as left, user_id, net_id from public.voice_presence where room_name in ('ops-net', 'wing-net')",
    );
    const actual = new Map(rows.map((r) => [r.participant_sid, { room: r.room_name, joined: Number(r.joined), left: r.left === null ? null : Number(r.left) }]));
    expect(actual).toEqual(expected);
    const me = rows.find((r) => r.participant_sid === "PA_ops-net_1");
    expect(me.user_id).toBe(scout.id);
    expect(me.net_id).not.toBeNull();
  });

  it("shows the roster of a net to a member who may join it, and not to a VAGRANT", async () => {
    const roster = `query($net: UUID) { netRoster(netId: $net) { nodes { callsign rank joinedAt } } }`;
    const net = (await t.pool.query("select id from public.voice_nets where room_name = 'ops-net'")).rows[0].id;
    const seen = await t.graphql(roster, { net }, scout.token);
    expect(seen.body.errors).toBeUndefined();
    expect(seen.body.data.netRoster.nodes).toContainEqual(expect.objectContaining({ callsign: scout.callsign, rank: "SCOUT" }));
    const vagrant = await createMember(t.pool, "VAGRANT");
    const hidden = await t.graphql(roster, { net }, vagrant.token);
    expect(hidden.body.data.netRoster.nodes).toEqual([]);
  });
});
