/**
 * Live voice rights (issue #13): a change to a member's clearance reaches the participants already connected,
 * through LiveKit's RoomService (test/support/livekit-server.ts: Twirp JSON on 127.0.0.1, the SDK's JWT checked
 * as LiveKit checks it). Participants are present the way they are in production: a voice token from
 * issueVoiceToken, then LiveKit's signed participant_joined webhook carrying that token's identity, metadata and
 * rights. The worker runs for real.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenVerifier } from "livekit-server-sdk";
import { eventually } from "../support/eventually.ts";
import { LIVEKIT_KEY, LIVEKIT_SECRET, liveKitBody, postWebhook, signWebhook } from "../support/livekit.ts";
import { startRoomService, type FakeRoomService, type Permission } from "../support/livekit-server.ts";
import { createMember, type Member, type Rank } from "../support/members.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

let t: TestServer;
let livekit: FakeRoomService;
let pioneer: Member;
let founder: Member;
const verifier = new TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET);
let sidCounter = 0;

const ISSUE = `mutation($input: IssueVoiceTokenInput!) {
  issueVoiceToken(input: $input) { token roomName identity bridged { roomName token } }
}`;

interface Presence {
  room: string;
  identity: string;
  sid: string;
}

async function createNet(room: string, join: Rank, rx: Rank, tx: Rank, squad: string | null = null): Promise<string> {
  const { rows } = await t.pool.query(
    `insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx, linked_squad_id)
     values ($1, $1, $2, $3, $4, $5) returning id`,
    [room, join, rx, tx, squad],
  );
  return rows[0].id;
}

/**
 * A participant arriving as LiveKit reports it: in the RoomService's room, then LiveKit's signed
 * participant_joined webhook (with the rights the join had, when given).
 */
async function arrive(room: string, identity: string, details: { name?: string; metadata?: string; permission?: Permission } = {}): Promise<Presence> {
  const sid = `PA_live_${++sidCounter}`;
  livekit.join(room, identity, sid, details.permission ?? { canSubscribe: true, canPublish: true, canPublishData: true });
  const body = liveKitBody("participant_joined", room, Math.floor(Date.now() / 1000), { identity, sid, ...details });
  expect((await postWebhook(t.baseUrl, body, await signWebhook(body))).status).toBe(200);
  await eventually(`${identity} present in ${room}`, async () => {
    const { rows } = await t.pool.query("select 1 from public.voice_presence where participant_sid = $1 and left_at is null", [sid]);
    return rows.length === 1 ? true : undefined;
  });
  return { room, identity, sid };
}

/** Connect as LiveKit would see it: the identity, metadata and rights of a signed token. */
async function connect(token: string): Promise<Presence> {
  const claims = await verifier.verify(token);
  return arrive(claims.video!.room!, claims.sub!, {
    name: claims.name,
    metadata: claims.metadata,
    permission: {
      canSubscribe: claims.video!.canSubscribe === true,
      canPublish: claims.video!.canPublish === true,
      canPublishData: claims.video!.canPublishData === true,
    },
  });
}

async function voiceToken(member: Member, room: string) {
  const res = await t.graphql(ISSUE, { input: { roomName: room } }, member.token);
  expect(res.body.errors, `token for ${member.callsign} on ${room}`).toBeUndefined();
  return res.body.data.issueVoiceToken;
}

async function join(member: Member, room: string): Promise<Presence> {
  return connect((await voiceToken(member, room)).token);
}

async function setRank(member: Member, rank: Rank) {
  const res = await t.graphql(
    `mutation($input: SetMemberRankInput!) { setMemberRank(input: $input) { __typename } }`,
    { input: { memberId: member.id, newRank: rank } },
    pioneer.token,
  );
  expect(res.body.errors).toBeUndefined();
  const { rows } = await t.pool.query("select rank from public.profiles where id = $1", [member.id]);
  expect(rows[0].rank).toBe(rank);
}

const calls = (p: Presence, method?: string) =>
  livekit.requests.filter((r) => r.room === p.room && r.identity === p.identity && (!method || r.method === method));

function removed(p: Presence) {
  return eventually(`${p.identity} removed from ${p.room}`, async () => (livekit.participants.get(p.room)?.has(p.identity) ? undefined : true));
}

function holds(p: Presence, permission: Partial<Permission>) {
  return eventually(`${p.identity} in ${p.room} holding ${JSON.stringify(permission)}`, async () => {
    const now = livekit.permissionOf(p.room, p.identity);
    return now && Object.entries(permission).every(([k, v]) => now[k as keyof Permission] === v) ? now : undefined;
  });
}

/**
 * Wait until no live rights job is due or running (a sim pod's is scheduled for its expiry), so "nothing
 * happened" is a finding, not a race.
 */
async function settled() {
  await eventually("live rights jobs done", async () => {
    const { rows } = await t.pool.query(
      `select count(*)::int as n from graphile_worker.jobs where task_identifier = 'voice_rights__apply' and attempts < max_attempts and run_at <= now()`,
    );
    return rows[0].n === 0 ? true : undefined;
  });
}

beforeAll(async () => {
  livekit = await startRoomService();
  t = await startTestServer({
    env: { LIVEKIT_URL: livekit.url.replace("http", "ws"), LIVEKIT_API_KEY: LIVEKIT_KEY, LIVEKIT_API_SECRET: LIVEKIT_SECRET, LIVEKIT_TIMEOUT_MS: "2000" },
    worker: true,
  });
  pioneer = await createMember(t.pool, "PIONEER");
  founder = await createMember(t.pool, "FOUNDER");
});
afterAll(async () => {
  await t?.close();
  await livekit?.close();
});

describe("live voice rights", () => {
  it("a SCOUT demoted below a net's join gate is removed, below another's tx gate made listen-only, and it is audited", async () => {
    await createNet("scouts-only", "SCOUT", "SCOUT", "SCOUT");
    await createNet("open-floor", "AFFILIATE", "AFFILIATE", "SCOUT");
    const scout = await createMember(t.pool, "SCOUT");
    const onScouts = await join(scout, "scouts-only");
    const onFloor = await join(scout, "open-floor");
    expect(livekit.permissionOf(onFloor.room, onFloor.identity)).toEqual({ canSubscribe: true, canPublish: true, canPublishData: true });

    await setRank(scout, "AFFILIATE");
    await removed(onScouts);
    await holds(onFloor, { canSubscribe: true, canPublish: false, canPublishData: false });
    expect(calls(onScouts).map((r) => [r.method, r.authorized, r.status])).toEqual([["RemoveParticipant", true, 200]]);
    expect(calls(onFloor).map((r) => [r.method, r.status])).toEqual([["UpdateParticipant", 200]]);

    // The audit row commits with LiveKit's answer, just after the call the fake service saw.
    const rows = await eventually("both audit rows", async () => {
      const { rows } = await t.pool.query(
        `select l.room_name, l.action, l.outcome, l.had_publish, l.can_publish, c.kind, c.details, c.actor_id
           from nexus_private.voice_rights_log l join nexus_private.voice_rights_changes c on c.id = any (l.change_ids)
          where l.user_id = $1 order by l.room_name`,
        [scout.id],
      );
      return rows.length === 2 ? rows : undefined;
    });
    expect(rows).toMatchObject([
      { room_name: "open-floor", action: "update", outcome: "updated", had_publish: true, can_publish: false, kind: "rank_changed" },
      { room_name: "scouts-only", action: "remove", outcome: "removed", had_publish: true, kind: "rank_changed" },
    ]);
    expect(rows[0].details).toEqual({ from: "SCOUT", to: "AFFILIATE" });
    expect(rows[0].actor_id).toBe(pioneer.id);
  });

  it("a promotion gives canPublish without a new token", async () => {
    await createNet("promo", "AFFILIATE", "AFFILIATE", "SCOUT");
    const affiliate = await createMember(t.pool, "AFFILIATE");
    const p = await join(affiliate, "promo");
    expect(livekit.permissionOf(p.room, p.identity)).toMatchObject({ canPublish: false, canSubscribe: true });
    await setRank(affiliate, "SCOUT");
    await holds(p, { canSubscribe: true, canPublish: true, canPublishData: true });
  });

  it("a net's tx gate raised above a present VOYAGER makes them listen-only; lowered again, they may speak", async () => {
    const net = await createNet("command-live", "SCOUT", "SCOUT", "VOYAGER");
    const voyager = await createMember(t.pool, "VOYAGER");
    const bystander = await createMember(t.pool, "FOUNDER");
    const p = await join(voyager, "command-live");
    const b = await join(bystander, "command-live");
    await t.pool.query("update public.voice_nets set min_rank_to_tx = 'FOUNDER' where id = $1", [net]);
    await holds(p, { canPublish: false, canSubscribe: true });
    await t.pool.query("update public.voice_nets set min_rank_to_tx = 'VOYAGER' where id = $1", [net]);
    await holds(p, { canPublish: true, canSubscribe: true });
    await settled();
    expect(calls(p, "UpdateParticipant")).toHaveLength(2);
    expect(calls(b), "a FOUNDER's rights did not change, so nothing is sent for them").toEqual([]);
  });

  it("a member removed from a net's linked squad is removed from it", async () => {
    const { rows } = await t.pool.query("insert into public.squads (name) values ('Salvage Crew') returning id");
    const squad = rows[0].id;
    await createNet("salvage", "AFFILIATE", "AFFILIATE", "AFFILIATE", squad);
    const crew = await createMember(t.pool, "SCOUT");
    await t.pool.query("insert into public.squad_members (squad_id, user_id) values ($1, $2)", [squad, crew.id]);
    const p = await join(crew, "salvage");
    await t.pool.query("delete from public.squad_members where squad_id = $1 and user_id = $2", [squad, crew.id]);
    await removed(p);
    expect(calls(p).map((r) => r.method)).toEqual(["RemoveParticipant"]);
  });

  it("an unlinked bridge is no longer heard: whoever is in the other net's room by the bridge is removed from it", async () => {
    const home = await createNet("wing-home", "SCOUT", "SCOUT", "SCOUT");
    const other = await createNet("wing-other", "SCOUT", "SCOUT", "FOUNDER");
    const link = await t.graphql(
      `mutation($input: LinkVoiceNetsInput!) { linkVoiceNets(input: $input) { voiceNetBridge { id } } }`,
      { input: { sourceNetId: home, targetNetId: other } },
      founder.token,
    );
    expect(link.body.errors).toBeUndefined();
    const voyager = await createMember(t.pool, "VOYAGER");
    const token = await voiceToken(voyager, "wing-home");
    expect(token.bridged.map((b: { roomName: string }) => b.roomName)).toEqual(["wing-other"]);
    const atHome = await connect(token.token);
    const bridged = await connect(token.bridged[0].token);
    const direct = await join(await createMember(t.pool, "VOYAGER"), "wing-other");

    const unlink = await t.graphql(
      `mutation($input: UnlinkVoiceNetsInput!) { unlinkVoiceNets(input: $input) { voiceNetBridge { id } } }`,
      { input: { sourceNetId: other, targetNetId: home } },
      founder.token,
    );
    expect(unlink.body.errors).toBeUndefined();
    await removed(bridged);
    await settled();
    expect(calls(atHome), "their own net is not touched").toEqual([]);
    expect(calls(direct), "a member in that room with its own token stays").toEqual([]);
  });

  it("a participant on the old frontend's token (identity = display name, metadata.userId) is matched like the webhook matches it", async () => {
    await createNet("legacy-net", "SCOUT", "SCOUT", "SCOUT");
    const scout = await createMember(t.pool, "SCOUT");
    const p = await arrive("legacy-net", `${scout.callsign} (web)`, { metadata: JSON.stringify({ userId: scout.id, rank: "scout" }) });
    const { rows } = await t.pool.query("select user_id from public.voice_presence where participant_sid = $1", [p.sid]);
    expect(rows[0].user_id).toBe(scout.id);
    await setRank(scout, "VAGRANT");
    await removed(p);
  });

  it("a deleted member is removed", async () => {
    await createNet("deleted-net", "VAGRANT", "VAGRANT", "VAGRANT");
    const gone = await createMember(t.pool, "SCOUT");
    const p = await join(gone, "deleted-net");
    await t.pool.query("delete from auth.users where id = $1", [gone.id]);
    await removed(p);
  });

  it("a member who joins on a token signed before their demotion is put right at once", async () => {
    await createNet("stale-token", "AFFILIATE", "AFFILIATE", "SCOUT");
    const scout = await createMember(t.pool, "SCOUT");
    const token = await voiceToken(scout, "stale-token");
    await setRank(scout, "AFFILIATE");
    const p = await connect(token.token);
    await holds(p, { canPublish: false, canSubscribe: true });
    // LiveKit holds the new rights as soon as the call returns; the job records it when its transaction commits.
    const kinds = await eventually("the call recorded", async () => {
      const { rows } = await t.pool.query(
        "select c.kind from nexus_private.voice_rights_log l join nexus_private.voice_rights_changes c on c.id = any (l.change_ids) where l.participant_identity = $1",
        [scout.id],
      );
      return rows.length ? rows.map((r) => r.kind) : undefined;
    });
    expect(kinds).toEqual(["joined_out_of_date"]);
  });

  it("a sim pod whose training is completed removes whoever is still in its room", async () => {
    const mentor = await createMember(t.pool, "VOYAGER");
    const cadet = await createMember(t.pool, "VAGRANT");
    const { rows } = await t.pool.query("insert into public.skills (name) values ('Live rights drills') returning id");
    await t.pool.query("insert into public.mentor_certifications (user_id, skill_id) values ($1, $2)", [mentor.id, rows[0].id]);
    const requested = await t.graphql(
      `mutation($input: RequestTrainingInput!) { requestTraining(input: $input) { academyRequest { id } } }`,
      { input: { skillId: rows[0].id } },
      cadet.token,
    );
    const requestId = requested.body.data.requestTraining.academyRequest.id;
    const accepted = await t.graphql(
      `mutation($input: AcceptTrainingInput!) { acceptTraining(input: $input) { simPodId connectionTokens { token } } }`,
      { input: { requestId } },
      mentor.token,
    );
    expect(accepted.body.errors).toBeUndefined();
    const { simPodId, connectionTokens } = accepted.body.data.acceptTraining;
    const joined = await t.graphql(
      `mutation($input: JoinSimPodInput!) { joinSimPod(input: $input) { token } }`,
      { input: { simPodId } },
      cadet.token,
    );
    const inPod = [await connect(connectionTokens[0].token), await connect(joined.body.data.joinSimPod.token)];
    await settled();
    expect(inPod.flatMap((p) => calls(p)), "an open pod's participants are left alone").toEqual([]);
    const completed = await t.graphql(
      `mutation($input: CompleteTrainingInput!) { completeTraining(input: $input) { academyRequest { status } } }`,
      { input: { requestId } },
      mentor.token,
    );
    expect(completed.body.errors).toBeUndefined();
    for (const p of inPod) await removed(p);
  });

  it("LiveKit down during the change: applied once it answers, and nothing is applied twice", async () => {
    const net = await createNet("outage-net", "SCOUT", "SCOUT", "SCOUT");
    const members = await Promise.all([1, 2, 3].map(() => createMember(t.pool, "VOYAGER")));
    const present = [];
    for (const m of members) present.push(await join(m, "outage-net"));
    livekit.outage = { status: 503, code: "unavailable", msg: "LiveKit is restarting" };
    await t.pool.query("update public.voice_nets set min_rank_to_tx = 'FOUNDER' where id = $1", [net]);
    await eventually("a refused call", async () => (livekit.requests.some((r) => r.room === "outage-net" && r.status === 503) ? true : undefined));
    // The job records its answers once its calls are all back, a moment after the first refusal.
    await eventually("the refusal recorded as failed", async () => {
      const { rows } = await t.pool.query(
        "select count(*)::int as n from nexus_private.voice_rights_log where room_name = 'outage-net' and outcome = 'failed'",
      );
      return rows[0].n > 0 ? true : undefined;
    });
    livekit.outage = undefined;
    for (const p of present) await holds(p, { canPublish: false, canSubscribe: true });
    await settled();
    for (const p of present) {
      expect(calls(p, "UpdateParticipant").filter((r) => r.status === 200), p.identity).toHaveLength(1);
    }
    // A job run again (a redelivery, a second worker) finds nothing left to do.
    await t.pool.query(
      "select graphile_worker.add_job('voice_rights__apply', json_build_array(json_build_object('change', max(id), 'net', $1::text))) from nexus_private.voice_rights_changes",
      [net],
    );
    await settled();
    for (const p of present) expect(calls(p, "UpdateParticipant").filter((r) => r.status === 200)).toHaveLength(1);
  });

  it("a change enqueued while a failing job runs does not cost that job its retry (members share job keys)", async () => {
    await createNet("lane-net", "AFFILIATE", "AFFILIATE", "SCOUT");
    // Two members whose changes go under the same job key (the same of the members' four, and the same 256 changes).
    const keyOf = async (m: Member) =>
      (await t.pool.query("select nexus_private.voice_rights_job_key(0, $1, null, null) as key", [m.id])).rows[0].key as string;
    const first = await createMember(t.pool, "SCOUT");
    let second = await createMember(t.pool, "SCOUT");
    while ((await keyOf(second)) !== (await keyOf(first))) second = await createMember(t.pool, "SCOUT");
    const [p1, p2] = [await join(first, "lane-net"), await join(second, "lane-net")];
    // The next change starts a run of 256, so the two changes below fall in the same one.
    await t.pool.query(
      `select setval(pg_get_serial_sequence('nexus_private.voice_rights_changes', 'id'),
                     (nextval(pg_get_serial_sequence('nexus_private.voice_rights_changes', 'id')) / 256 + 1) * 256 - 1)`,
    );
    let release!: () => void;
    livekit.hold = new Promise((resolve) => (release = resolve));
    livekit.outage = { status: 503, code: "unavailable", msg: "LiveKit is restarting" };
    try {
      // The first member's job is running, its call in flight, when the second member's change comes: it takes
      // the key to a job of its own, which runs beside the first.
      await setRank(first, "AFFILIATE");
      await eventually("the first member's call in flight", async () => (calls(p1, "UpdateParticipant").length > 0 ? true : undefined));
      await setRank(second, "AFFILIATE");
      await eventually("the second member's call in flight", async () => (calls(p2, "UpdateParticipant").length > 0 ? true : undefined));
      const { rows } = await t.pool.query(
        "select count(*)::int as n from graphile_worker.jobs where task_identifier = 'voice_rights__apply' and locked_at is not null and key is null",
      );
      expect(rows[0].n, "the first job, running, lost its key to the second").toBe(1);
      livekit.hold = undefined;
      release();
      await eventually("both calls refused", async () => ([p1, p2].every((p) => calls(p, "UpdateParticipant").some((r) => r.status === 503)) ? true : undefined));
    } finally {
      livekit.hold = undefined;
      release();
      livekit.outage = undefined;
    }
    await holds(p1, { canPublish: false, canSubscribe: true });
    await holds(p2, { canPublish: false, canSubscribe: true });
    await settled();
    for (const p of [p1, p2]) expect(calls(p, "UpdateParticipant").filter((r) => r.status === 200), p.identity).toHaveLength(1);
  });

  it("LiveKit not answering: a job sends one call per lane (16), not one per participant, and the rest follow once it answers", async () => {
    const net = await createNet("stall-net", "SCOUT", "SCOUT", "SCOUT");
    const present: Presence[] = [];
    for (let i = 0; i < 40; i++) present.push(await join(await createMember(t.pool, "VOYAGER"), "stall-net"));
    let release!: () => void;
    livekit.hold = new Promise((resolve) => (release = resolve));
    const sent = () => livekit.requests.filter((r) => r.room === "stall-net" && r.method === "UpdateParticipant").length;
    try {
      await t.pool.query("update public.voice_nets set min_rank_to_tx = 'FOUNDER' where id = $1", [net]);
      // The job's first 16 calls wait out their deadline (LIVEKIT_TIMEOUT_MS, 2 s here); it records all 40 failed.
      await eventually("the job's 40 participants recorded failed", async () => {
        const { rows } = await t.pool.query("select count(*)::int as n from nexus_private.voice_rights_log where room_name = 'stall-net' and outcome = 'failed'");
        return rows[0].n >= 40 ? rows[0].n : undefined;
      });
      expect(sent(), "calls sent while LiveKit gave no answer").toBe(16);
      const { rows } = await t.pool.query(
        "select count(*)::int as n from nexus_private.voice_rights_log where room_name = 'stall-net' and error = 'not sent: LiveKit answered none of the calls before it'",
      );
      expect(rows[0].n).toBe(24);
    } finally {
      livekit.hold = undefined;
      release();
    }
    for (const p of present) await holds(p, { canPublish: false, canSubscribe: true });
    await settled();
    for (const p of present) expect(calls(p, "UpdateParticipant").filter((r) => r.status === 200), p.identity).toHaveLength(1);
  });

  it("a net deleted: whoever is still in its room is removed; a room that was never a net's is left alone", async () => {
    const net = await createNet("doomed-live", "SCOUT", "SCOUT", "SCOUT");
    const scout = await createMember(t.pool, "SCOUT");
    const p = await join(scout, "doomed-live");
    // Another app on the same LiveKit project: its room was never ours, whoever is in it.
    const stranger = await arrive("other-app-room", `guest-${sidCounter}`);
    const elsewhere = await arrive("other-app-room", scout.id);

    const deleted = await t.graphql(`mutation($id: UUID!) { deleteVoiceNet(input: { id: $id }) { voiceNet { id } } }`, { id: net }, founder.token);
    expect(deleted.body.errors).toBeUndefined();
    await removed(p);
    expect(calls(p).map((r) => [r.method, r.authorized, r.status])).toEqual([["RemoveParticipant", true, 200]]);
    const audit = await eventually("the removal's audit row", async () => {
      const { rows } = await t.pool.query(
        `select l.net_id, l.outcome, c.kind, c.details, c.actor_id
           from nexus_private.voice_rights_log l join nexus_private.voice_rights_changes c on c.id = any (l.change_ids)
          where l.room_name = 'doomed-live'`,
      );
      return rows.length === 1 ? rows[0] : undefined;
    });
    expect(audit).toEqual({ net_id: net, outcome: "removed", kind: "net_deleted", details: { room_name: "doomed-live" }, actor_id: founder.id });

    // A change to the member re-decides every room they are in: the foreign one still gets nothing.
    await setRank(scout, "VOYAGER");
    await settled();
    expect(calls(stranger)).toEqual([]);
    expect(calls(elsewhere)).toEqual([]);
  });

  it("a net's room renamed: whoever is in the old room is removed, and rejoins with a token for the new name", async () => {
    const net = await createNet("rename-live", "SCOUT", "SCOUT", "SCOUT");
    const voyager = await createMember(t.pool, "VOYAGER");
    await createNet("rename-neighbour", "SCOUT", "SCOUT", "SCOUT");
    const bystander = await join(await createMember(t.pool, "SCOUT"), "rename-neighbour");
    const before = await join(voyager, "rename-live");

    const renamed = await t.graphql(
      `mutation($id: UUID!, $p: VoiceNetPatch!) { updateVoiceNet(input: { id: $id, patch: $p }) { voiceNet { roomName } } }`,
      { id: net, p: { roomName: "rename-live-2" } },
      founder.token,
    );
    expect(renamed.body.errors).toBeUndefined();
    await removed(before);
    expect(calls(before).map((r) => [r.method, r.status])).toEqual([["RemoveParticipant", 200]]);

    const after = await join(voyager, "rename-live-2");
    expect(livekit.permissionOf(after.room, after.identity)).toEqual({ canSubscribe: true, canPublish: true, canPublishData: true });
    await settled();
    expect(calls(after), "the new room is the net's: decided normally, nothing to change").toEqual([]);
    expect(calls(bystander), "another net's room is not touched").toEqual([]);
  });

  it("reports live permission updates by outcome and their lag on /metrics", async () => {
    const text = await eventually("voice rights metrics", async () => {
      const body = await (await fetch(`${t.baseUrl}/metrics`)).text();
      return /nexus_voice_rights_updates\{outcome="removed"\} [1-9]/.test(body) ? body : undefined;
    });
    expect(text).toMatch(/nexus_voice_rights_updates\{outcome="updated"\} [1-9]/);
    expect(text).toMatch(/nexus_voice_rights_updates\{outcome="failed"\} [1-9]/);
    expect(text).toMatch(/nexus_voice_rights_lag_seconds\{quantile="0.99"\} \d/);
    // Every call carried a room-admin token for its own room, as LiveKit requires (test/support/livekit-server.ts).
    expect(livekit.requests.length).toBeGreaterThan(0);
    expect(livekit.requests.filter((r) => !r.authorized)).toEqual([]);
  });
});
