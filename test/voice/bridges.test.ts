/**
 * Net bridging through the runbook's POST /functions/v1/net-bridge and GraphQL linkVoiceNets / unlinkVoiceNets:
 * FOUNDER+ only, no self-link, one bridge per pair, idempotent unlink, audited.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMember, RANKS, type Member } from "../support/members.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

let t: TestServer;
let alpha: string;
let bravo: string;
const members = {} as Record<(typeof RANKS)[number], Member>;

const bridge = (body: unknown, token?: string) => t.rest("net-bridge", body, token);

beforeAll(async () => {
  t = await startTestServer();
  const { rows } = await t.pool.query<{ id: string }>(
    `insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
     values ('Alpha', 'alpha', 'VAGRANT', 'VAGRANT', 'SCOUT'), ('Bravo', 'bravo', 'SCOUT', 'SCOUT', 'VOYAGER') returning id`,
  );
  [alpha, bravo] = rows.map((r) => r.id) as [string, string];
  for (const rank of RANKS) members[rank] = await createMember(t.pool, rank);
});
afterAll(async () => t?.close());

describe("POST /functions/v1/net-bridge", () => {
  it("refuses every rank below FOUNDER with 403 and anon with 401, leaving no bridge", async () => {
    for (const rank of ["VAGRANT", "AFFILIATE", "SCOUT", "VOYAGER"] as const) {
      const res = await bridge({ sourceNetId: alpha, targetNetId: bravo, action: "link" }, members[rank].token);
      expect(res, rank).toMatchObject({ status: 403, body: { error: "INSUFFICIENT_CLEARANCE" } });
    }
    expect((await bridge({ sourceNetId: alpha, targetNetId: bravo, action: "link" })).status).toBe(401);
    const { rows } = await t.pool.query("select count(*)::int as n from public.voice_net_bridges");
    expect(rows[0].n).toBe(0);
  });

  it("links as the runbook shows, refuses duplicates both ways and self-links, unlinks idempotently, and audits", async () => {
    const founder = members.FOUNDER.token;
    const linked = await bridge({ sourceNetId: alpha, targetNetId: bravo, action: "link" }, founder);
    expect(linked.status).toBe(200);
    expect(linked.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), source_net_id: alpha, target_net_id: bravo });

    expect(await bridge({ sourceNetId: alpha, targetNetId: bravo, action: "link" }, founder)).toMatchObject({ status: 409, body: { error: "CONFLICT" } });
    expect(await bridge({ sourceNetId: bravo, targetNetId: alpha, action: "link" }, founder)).toMatchObject({ status: 409, body: { error: "CONFLICT" } });
    expect(await bridge({ sourceNetId: alpha, targetNetId: alpha, action: "link" }, founder)).toMatchObject({ status: 400, body: { error: "BAD_REQUEST" } });
    expect(await bridge({ sourceNetId: alpha, targetNetId: crypto.randomUUID(), action: "link" }, founder)).toMatchObject({ status: 404 });
    expect(await bridge({ sourceNetId: alpha, targetNetId: bravo, action: "merge" }, founder)).toMatchObject({ status: 400 });

    const { rows: seen } = await t.pool.query("select * from public.voice_net_bridges");
    expect(seen).toHaveLength(1);
    expect(seen[0].created_by).toBe(members.FOUNDER.id);

    const unlinked = await bridge({ sourceNetId: bravo, targetNetId: alpha, action: "unlink" }, members.PIONEER.token);
    expect(unlinked).toEqual({ status: 200, body: { id: linked.body.id, source_net_id: alpha, target_net_id: bravo } });
    const again = await bridge({ sourceNetId: bravo, targetNetId: alpha, action: "unlink" }, members.PIONEER.token);
    expect(again).toEqual({ status: 200, body: { id: null, source_net_id: bravo, target_net_id: alpha } });

    const { rows: audit } = await t.pool.query(
      "select action, actor_id, details->>'bridge_id' as bridge_id from nexus_private.audit_log where action like 'voice_net.%' order by id",
    );
    expect(audit).toEqual([
      { action: "voice_net.bridged", actor_id: members.FOUNDER.id, bridge_id: linked.body.id },
      { action: "voice_net.unbridged", actor_id: members.PIONEER.id, bridge_id: linked.body.id },
    ]);
  });
});

describe("GraphQL linkVoiceNets / unlinkVoiceNets", () => {
  const LINK = `mutation($input: LinkVoiceNetsInput!) { linkVoiceNets(input: $input) { voiceNetBridge { id sourceNetId targetNetId createdBy } } }`;
  const UNLINK = `mutation($input: UnlinkVoiceNetsInput!) { unlinkVoiceNets(input: $input) { voiceNetBridge { id } } }`;

  it("lets a FOUNDER link and unlink, and refuses a VOYAGER with INSUFFICIENT_CLEARANCE", async () => {
    const refused = await t.graphql(LINK, { input: { sourceNetId: alpha, targetNetId: bravo } }, members.VOYAGER.token);
    expect(refused.body.errors?.[0].extensions.code).toBe("INSUFFICIENT_CLEARANCE");

    const linked = await t.graphql(LINK, { input: { sourceNetId: alpha, targetNetId: bravo } }, members.FOUNDER.token);
    expect(linked.body.errors).toBeUndefined();
    expect(linked.body.data.linkVoiceNets.voiceNetBridge).toMatchObject({ sourceNetId: alpha, targetNetId: bravo, createdBy: members.FOUNDER.id });

    const scoutView = await t.graphql(`{ voiceNetBridges { nodes { id } } }`, {}, members.SCOUT.token);
    expect(scoutView.body.data.voiceNetBridges.nodes).toHaveLength(1);
    const vagrantView = await t.graphql(`{ voiceNetBridges { nodes { id } } }`, {}, members.VAGRANT.token);
    expect(vagrantView.body.data.voiceNetBridges.nodes).toHaveLength(0);

    const unlinked = await t.graphql(UNLINK, { input: { sourceNetId: bravo, targetNetId: alpha } }, members.FOUNDER.token);
    expect(unlinked.body.data.unlinkVoiceNets.voiceNetBridge.id).toBe(linked.body.data.linkVoiceNets.voiceNetBridge.id);
    const twice = await t.graphql(UNLINK, { input: { sourceNetId: bravo, targetNetId: alpha } }, members.FOUNDER.token);
    expect(twice.body.errors).toBeUndefined();
    expect(twice.body.data.unlinkVoiceNets.voiceNetBridge).toBeNull();
  });

  it("shows each member only the nets they may join", async () => {
    const names = async (m: Member) =>
      (await t.graphql(`{ voiceNets(orderBy: ROOM_NAME_ASC) { nodes { roomName } } }`, {}, m.token)).body.data.voiceNets.nodes.map(
        (n: any) => n.roomName,
      );
    expect(await names(members.VAGRANT)).toEqual(["alpha"]);
    expect(await names(members.SCOUT)).toEqual(["alpha", "bravo"]);
  });
});
