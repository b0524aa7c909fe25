/**
 * Net management over GraphQL, end to end over HTTP against a production-mode server (issue 11, finding 6):
 * FOUNDER+ create, edit (gates, linked squad) and delete nets with the mutations PostGraphile generates, every
 * lower rank is refused and changes nothing; and issueVoiceTokens charges the LiveKit token bucket one token per
 * token it signs, bridged nets included, so a batch of 100 nets signs no more than the bucket holds.
 */
import { TokenVerifier } from "livekit-server-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIVEKIT_ENV, LIVEKIT_KEY, LIVEKIT_SECRET } from "../support/livekit.ts";
import { createMember, RANKS, type Member, type Rank } from "../support/members.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

const BURST = 20;
let t: TestServer;
const members = {} as Record<Rank, Member>;

beforeAll(async () => {
  t = await startTestServer({ env: { NODE_ENV: "production", ...LIVEKIT_ENV, LIVEKIT_TOKEN_BURST: String(BURST), LIVEKIT_TOKENS_PER_MINUTE: "1" } });
  for (const rank of RANKS) members[rank] = await createMember(t.pool, rank);
}, 60_000);
afterAll(async () => t?.close());

const NET_FIELDS = "id name roomName minRankToJoin minRankToRx minRankToTx linkedSquadId";
const CREATE = `mutation($v: VoiceNetInput!) { createVoiceNet(input: { voiceNet: $v }) { voiceNet { ${NET_FIELDS} } } }`;
const UPDATE = `mutation($id: UUID!, $p: VoiceNetPatch!) { updateVoiceNet(input: { id: $id, patch: $p }) { voiceNet { ${NET_FIELDS} } } }`;
const DELETE = `mutation($id: UUID!) { deleteVoiceNet(input: { id: $id }) { voiceNet { id roomName } } }`;
const ISSUE = `mutation($r: String!) { issueVoiceToken(input: { roomName: $r }) { token canPublish canSubscribe } }`;

async function netRow(room: string) {
  const { rows } = await t.pool.query("select * from public.voice_nets where room_name = $1", [room]);
  return rows[0];
}

describe("voice net management over GraphQL (production mode)", () => {
  for (const rank of ["FOUNDER", "PIONEER"] as const) {
    it(`a ${rank} creates a net, edits its gates, ties it to a squad, unties it and deletes it`, async () => {
      const me = members[rank];
      const room = `wing-${rank.toLowerCase()}`;
      const created = await t.graphql(CREATE, { v: { name: "Wing", roomName: room, minRankToJoin: "SCOUT", minRankToRx: "SCOUT", minRankToTx: "VOYAGER" } }, me.token);
      expect(created.body.errors).toBeUndefined();
      expect(created.body.data.createVoiceNet.voiceNet).toMatchObject({ name: "Wing", roomName: room, minRankToJoin: "SCOUT", minRankToTx: "VOYAGER", linkedSquadId: null });
      const id = created.body.data.createVoiceNet.voiceNet.id as string;
      expect(await netRow(room)).toMatchObject({ id, min_rank_to_join: "SCOUT", min_rank_to_tx: "VOYAGER" });

      const edited = await t.graphql(UPDATE, { id, p: { name: "Wing Ops", minRankToTx: "SCOUT" } }, me.token);
      expect(edited.body.errors).toBeUndefined();
      expect(edited.body.data.updateVoiceNet.voiceNet).toMatchObject({ name: "Wing Ops", minRankToTx: "SCOUT" });

      // A squad (createSquad is FOUNDER+ too), one VOYAGER in it: the net tied to it is theirs, not another VOYAGER's.
      const squad = await t.graphql(`mutation { createSquad(input: { squad: { name: "Red ${rank}" } }) { squad { id } } }`, {}, me.token);
      expect(squad.body.errors).toBeUndefined();
      const squadId = squad.body.data.createSquad.squad.id as string;
      const insider = await createMember(t.pool, "VOYAGER");
      const outsider = await createMember(t.pool, "VOYAGER");
      await t.pool.query("insert into public.squad_members (squad_id, user_id) values ($1, $2)", [squadId, insider.id]);
      const tied = await t.graphql(UPDATE, { id, p: { linkedSquadId: squadId } }, me.token);
      expect(tied.body.errors).toBeUndefined();
      expect(tied.body.data.updateVoiceNet.voiceNet.linkedSquadId).toBe(squadId);
      // The squad cannot go while it gates the net (ON DELETE RESTRICT): the client's mistake, not a 500. PostgreSQL
      // 18 reports that as restrict_violation (23001), 15 as foreign_key_violation (23503).
      const gone = await t.graphql(`mutation($id: UUID!) { deleteSquad(input: { id: $id }) { squad { id } } }`, { id: squadId }, me.token);
      expect(gone.body.errors?.map((e: { extensions: { code: string } }) => e.extensions.code)).toEqual(["BAD_REQUEST"]);
      expect((await t.pool.query("select count(*)::int as n from public.squads where id = $1", [squadId])).rows).toEqual([{ n: 1 }]);
      const mine = await t.graphql(ISSUE, { r: room }, insider.token);
      expect(mine.body.errors).toBeUndefined();
      const grants = await new TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET).verify(mine.body.data.issueVoiceToken.token);
      expect(grants.video).toMatchObject({ room, roomJoin: true, canPublish: true });
      const notMine = await t.graphql(ISSUE, { r: room }, outsider.token);
      expect(notMine.body.errors?.[0].extensions.code).toBe("INSUFFICIENT_CLEARANCE");
      // The FOUNDER+ who tied it is not in the squad and still sees and edits it (FOUNDER+ are exempt).
      const untied = await t.graphql(UPDATE, { id, p: { linkedSquadId: null } }, me.token);
      expect(untied.body.errors).toBeUndefined();
      expect(untied.body.data.updateVoiceNet.voiceNet.linkedSquadId).toBeNull();
      expect((await t.graphql(ISSUE, { r: room }, outsider.token)).body.errors).toBeUndefined();

      const deleted = await t.graphql(DELETE, { id }, me.token);
      expect(deleted.body.errors).toBeUndefined();
      expect(deleted.body.data.deleteVoiceNet.voiceNet).toEqual({ id, roomName: room });
      expect(await netRow(room)).toBeUndefined();
    });
  }

  it("a FOUNDER cannot create or raise a net above their own rank", async () => {
    const founder = members.FOUNDER;
    const high = await t.graphql(CREATE, { v: { name: "Top", roomName: "top-net", minRankToJoin: "PIONEER", minRankToRx: "PIONEER", minRankToTx: "PIONEER" } }, founder.token);
    expect(high.body.errors?.[0].extensions.code).toBe("INSUFFICIENT_CLEARANCE");
    expect(await netRow("top-net")).toBeUndefined();
    const created = await t.graphql(CREATE, { v: { name: "Mid", roomName: "mid-net" } }, founder.token);
    const id = created.body.data.createVoiceNet.voiceNet.id;
    const raised = await t.graphql(UPDATE, { id, p: { minRankToJoin: "PIONEER", minRankToRx: "PIONEER", minRankToTx: "PIONEER" } }, founder.token);
    expect(raised.body.errors?.[0].extensions.code).toBe("INSUFFICIENT_CLEARANCE");
    expect(await netRow("mid-net")).toMatchObject({ min_rank_to_join: "VAGRANT" });
  });

  it("a FOUNDER cannot unbridge nets they may not join: the PIONEERs' bridge stands", async () => {
    const LINK = `mutation($s: UUID!, $t: UUID!) { linkVoiceNets(input: { sourceNetId: $s, targetNetId: $t }) { voiceNetBridge { id } } }`;
    const UNLINK = `mutation($s: UUID!, $t: UUID!) { unlinkVoiceNets(input: { sourceNetId: $s, targetNetId: $t }) { voiceNetBridge { id } } }`;
    const council = { name: "Council", roomName: "council-net", minRankToJoin: "PIONEER", minRankToRx: "PIONEER", minRankToTx: "PIONEER" };
    const a = (await t.graphql(CREATE, { v: council }, members.PIONEER.token)).body.data.createVoiceNet.voiceNet.id;
    const b = (await t.graphql(CREATE, { v: { ...council, name: "Council 2", roomName: "council-net-2" } }, members.PIONEER.token)).body.data
      .createVoiceNet.voiceNet.id;
    const bridge = (await t.graphql(LINK, { s: a, t: b }, members.PIONEER.token)).body.data.linkVoiceNets.voiceNetBridge.id;
    const unlinked = await t.graphql(UNLINK, { s: b, t: a }, members.FOUNDER.token);
    expect(unlinked.body.errors?.[0].extensions.code).toBe("INSUFFICIENT_CLEARANCE");
    const { rows } = await t.pool.query("select id from public.voice_net_bridges where id = $1", [bridge]);
    expect(rows).toHaveLength(1);
    expect((await t.graphql(UNLINK, { s: b, t: a }, members.PIONEER.token)).body.data.unlinkVoiceNets.voiceNetBridge.id).toBe(bridge);
  });

  it("a FOUNDER cannot take a room that is not ours: a sim pod's, or one another app's participants are in", async () => {
    const founder = members.FOUNDER;
    // What the webhook mirrors of a room on the same LiveKit project that no net or sim pod of ours has.
    await t.pool.query(
      "insert into public.voice_presence (room_name, participant_identity, participant_sid, joined_at) values ('other-app-room', 'sip_+15551234', 'PA_foreign', now())",
    );
    const hijack = await t.graphql(CREATE, { v: { name: "Hijack", roomName: "other-app-room" } }, founder.token);
    expect(hijack.body.errors?.[0].extensions.code).toBe("CONFLICT");
    expect(await netRow("other-app-room")).toBeUndefined();
    const pod = await t.graphql(CREATE, { v: { name: "Pod", roomName: "sim-pod-0123456789abcdef0123456789abcdef" } }, founder.token);
    expect(pod.body.errors?.[0].extensions.code).toBe("BAD_REQUEST");
    expect(await netRow("sim-pod-0123456789abcdef0123456789abcdef")).toBeUndefined();
    const created = await t.graphql(CREATE, { v: { name: "Own", roomName: "own-net" } }, founder.token);
    const id = created.body.data.createVoiceNet.voiceNet.id;
    for (const roomName of ["other-app-room", "sim-pod-0123456789abcdef0123456789abcdef"]) {
      const moved = await t.graphql(UPDATE, { id, p: { roomName } }, founder.token);
      expect(moved.body.errors?.[0].extensions.code).toMatch(/^(CONFLICT|BAD_REQUEST)$/);
    }
    expect(await netRow("own-net")).toMatchObject({ id });
  });

  for (const rank of ["VAGRANT", "AFFILIATE", "SCOUT", "VOYAGER"] as const) {
    it(`a ${rank} can neither create, edit nor delete a net, and the net stays as it was`, async () => {
      const me = members[rank];
      const room = `kept-${rank.toLowerCase()}`;
      const { rows } = await t.pool.query("insert into public.voice_nets (name, room_name) values ('Kept', $1) returning id", [room]);
      const id = rows[0].id as string;

      const created = await t.graphql(CREATE, { v: { name: "Mine", roomName: `mine-${rank.toLowerCase()}` } }, me.token);
      expect(created.body.errors?.[0].extensions.code).toBe("INSUFFICIENT_CLEARANCE");
      expect(await netRow(`mine-${rank.toLowerCase()}`)).toBeUndefined();

      const edited = await t.graphql(UPDATE, { id, p: { name: "Hijacked", minRankToTx: "VAGRANT" } }, me.token);
      expect(edited.body.data?.updateVoiceNet?.voiceNet ?? null).toBeNull();
      expect(edited.status).toBeLessThan(500);
      expect(edited.body.errors?.[0].extensions.code).toBe("NOT_FOUND");

      const deleted = await t.graphql(DELETE, { id }, me.token);
      expect(deleted.status).toBeLessThan(500);
      expect(deleted.body.errors?.[0].extensions.code).toBe("NOT_FOUND");
      expect(await netRow(room)).toMatchObject({ id, name: "Kept" });
    });
  }
});

describe("issueVoiceTokens charges one bucket token per token signed", () => {
  it(`100 nets, 20 of them bridged to another, against a bucket of ${BURST}: ${BURST} tokens signed in all, RATE_LIMITED for the rest`, async () => {
    await t.pool.query(`insert into public.voice_nets (name, room_name) select 'Batch ' || i, 'batch-' || i from generate_series(1, 120) i`);
    await t.pool.query(
      `insert into public.voice_net_bridges (source_net_id, target_net_id)
       select a.id, b.id from generate_series(1, 20) i
         join public.voice_nets a on a.room_name = 'batch-' || i
         join public.voice_nets b on b.room_name = 'batch-' || (i + 100)`,
    );
    const member = await createMember(t.pool, "SCOUT");
    const answer = await t.graphql(
      `mutation($r: [String!]) { issueVoiceTokens(input: { roomNames: $r }) { results { requested voiceToken { token bridged { token } } error { code message } } } }`,
      { r: Array.from({ length: 100 }, (_, i) => `batch-${i + 1}`) },
      member.token,
    );
    expect(answer.body.errors).toBeUndefined();
    const results = answer.body.data.issueVoiceTokens.results as { requested: string; voiceToken: { token: string; bridged: { token: string }[] } | null; error: { code: string } | null }[];
    expect(results).toHaveLength(100);
    const signed = results.flatMap((r) => (r.voiceToken ? [r.voiceToken.token, ...r.voiceToken.bridged.map((b) => b.token)] : []));
    expect(signed).toHaveLength(BURST);
    // In request order: the first ten nets each come with their bridge (two tokens apiece), then the bucket is empty.
    expect(results.slice(0, 10).every((r) => r.voiceToken?.bridged.length === 1)).toBe(true);
    expect(results.slice(10).map((r) => r.error?.code)).toEqual(Array(90).fill("RATE_LIMITED"));

    // The bucket is empty: a single token now is refused as a whole, with the seconds to wait.
    const again = await t.graphql(ISSUE, { r: "batch-1" }, member.token);
    expect(again.body.errors?.[0].extensions).toMatchObject({ code: "RATE_LIMITED", retryAfter: expect.any(Number) });
    const refused = await t.rest("livekit-token", { roomName: "batch-50" }, member.token);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});
