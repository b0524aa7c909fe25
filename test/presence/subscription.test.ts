import { randomUUID } from "node:crypto";
import { createClient, type Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../support/eventually.ts";
import { createMember, type Member } from "../support/members.ts";
import { LIVEKIT_ENV, liveKitBody, postWebhook, signWebhook } from "../support/livekit.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "../support/server.ts";
import { signJwt } from "../../core/jwt.ts";

let t: TestServer;
let scout: Member;
let vagrant: Member;
let netId: string;
const clients: Client[] = [];

beforeAll(async () => {
  t = await startTestServer({ env: LIVEKIT_ENV, worker: true });
  scout = await createMember(t.pool, "SCOUT");
  vagrant = await createMember(t.pool, "VAGRANT");
  netId = (
    await t.pool.query("insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx) values ('Wing', 'wing-net', 'SCOUT', 'SCOUT', 'VOYAGER') returning id")
  ).rows[0].id;
});
afterAll(async () => {
  for (const c of clients) c.terminate();
  await t?.close();
});

function subscribe(token: string) {
  const client = createClient({ url: `${t.baseUrl.replace("http", "ws")}/graphql`, connectionParams: { authorization: `Bearer ${token}` }, lazy: true });
  clients.push(client);
  const received: any[] = [];
  const errors: any[] = [];
  client.subscribe(
    {
      query: `subscription($net: UUID!) { voicePresenceChanged(netId: $net) { event netId voicePresence { participantIdentity leftAt user { callsign rank } } } }`,
      variables: { net: netId },
    },
    { next: (v) => (v.errors ? errors.push(...v.errors) : received.push(v.data?.voicePresenceChanged)), error: (e) => errors.push(e), complete: () => {} },
  );
  return {
    errors,
    /** Events about a presence row; the probes `live` sends name none. */
    get events() {
      return received.filter((e) => e?.voicePresence !== null);
    },
    /**
     * Until the server is listening for this subscriber: NOTIFY the net's channel (as the trigger on
     * voice_presence does) with a probe that names no row, until one arrives.
     */
    live: () =>
      until("the subscription to be listening", async () => {
        await t.pool.query("select pg_notify($1, $2)", [`nexus:presence:${netId}`, JSON.stringify({ id: randomUUID(), netId, event: "JOINED" })]);
        return received.length > 0 || errors.length > 0;
      }),
  };
}

describe("voicePresenceChanged subscription", () => {
  it("pushes joins and leaves on a net to a member who may join it", async () => {
    const sub = subscribe(scout.token);
    await sub.live();
    const now = Math.floor(Date.now() / 1000);
    const send = async (kind: "participant_joined" | "participant_left", at: number) => {
      const body = liveKitBody(kind, "wing-net", at, { identity: scout.id, sid: "PA_sub1" });
      expect((await postWebhook(t.baseUrl, body, await signWebhook(body))).status).toBe(200);
    };
    // Each event carries the row as it is when delivered, so the leave is sent once the join has been seen.
    await send("participant_joined", now);
    await until("the join", () => sub.events.length >= 1);
    await send("participant_left", now + 5);
    await until("the leave", () => sub.events.length >= 2);
    expect(sub.errors).toEqual([]);
    expect(sub.events[0]).toMatchObject({ event: "JOINED", netId, voicePresence: { participantIdentity: scout.id, leftAt: null, user: { callsign: scout.callsign, rank: "SCOUT" } } });
    expect(sub.events[1]).toMatchObject({ event: "LEFT", netId });
    expect(sub.events[1].voicePresence.leftAt).not.toBeNull();
  });

  it("stops sending a net's events to a member who may no longer join it, and tells them why", async () => {
    const demoted = await createMember(t.pool, "SCOUT");
    const voyager = await createMember(t.pool, "VOYAGER");
    const lost = subscribe(demoted.token);
    const kept = subscribe(voyager.token);
    await Promise.all([lost.live(), kept.live()]);
    const now = Math.floor(Date.now() / 1000);
    const join = async (sid: string, at: number) => {
      const body = liveKitBody("participant_joined", "wing-net", at, { identity: voyager.id, sid });
      expect((await postWebhook(t.baseUrl, body, await signWebhook(body))).status).toBe(200);
    };
    await join("PA_sub_before", now);
    await until("the first join, to both", () => lost.events.length >= 1 && kept.events.length >= 1);

    await t.pool.query("update public.profiles set rank = 'AFFILIATE' where id = $1", [demoted.id]);
    await join("PA_sub_after", now + 1);
    await until("the second join, to the VOYAGER", () => kept.events.length >= 2);
    await until("the demoted member's subscription to end", () => lost.errors.length > 0);
    // The subscription ends with the error (graphql-ws `error`, a list of GraphQL errors).
    expect(lost.errors.flat()[0]).toMatchObject({ message: "you may no longer join this net", extensions: { code: "INSUFFICIENT_CLEARANCE" } });
    expect(lost.events.map((e) => e.event)).toEqual(["JOINED"]);
    expect(kept.errors).toEqual([]);
  });

  it("sends nothing more once the subscriber's session ends or their token expires, and says so (UNAUTHENTICATED)", async () => {
    const member = await createMember(t.pool, "VOYAGER");
    const witness = await createMember(t.pool, "VOYAGER");
    const session = async (ttlSeconds: number) => {
      const { rows } = await t.pool.query("select (nexus_private.open_session($1, null, null)).session_id as id", [member.id]);
      const id = rows[0].id as string;
      return { id, token: await signJwt(TEST_JWT_SECRET, { sub: member.id, role: "authenticated", sessionId: id }, ttlSeconds) };
    };
    const signedOut = await session(3600);
    const expiring = await session(3);
    const ended = subscribe(signedOut.token);
    const expired = subscribe(expiring.token);
    const kept = subscribe(witness.token);
    await Promise.all([ended.live(), expired.live(), kept.live()]);
    const now = Math.floor(Date.now() / 1000);
    const join = async (sid: string, at: number) => {
      const body = liveKitBody("participant_joined", "wing-net", at, { identity: witness.id, sid });
      expect((await postWebhook(t.baseUrl, body, await signWebhook(body))).status).toBe(200);
    };
    await join("PA_session_before", now);
    await until("the first join, to all three", () => ended.events.length >= 1 && expired.events.length >= 1 && kept.events.length >= 1);

    // The member signs that session out; the other token's exp passes. Both were accepted when they subscribed.
    await t.pool.query("update nexus_private.sessions set revoked_at = now(), revoked_reason = 'sign_out_local' where id = $1", [signedOut.id]);
    await until("the short token's exp", () => Date.now() / 1000 > now + 4, { timeoutMs: 10_000 });
    await join("PA_session_after", now + 5);
    await until("the second join, to the witness", () => kept.events.length >= 2);
    await until("both subscriptions to end", () => ended.errors.length > 0 && expired.errors.length > 0);
    for (const sub of [ended, expired]) {
      expect(sub.errors.flat()[0]).toMatchObject({ extensions: { code: "UNAUTHENTICATED" } });
      expect(sub.events.map((e) => e.event)).toEqual(["JOINED"]);
    }
    expect(kept.errors).toEqual([]);
  });

  it("refuses a member who may not join the net", async () => {
    const sub = subscribe(vagrant.token);
    await until("the refusal", () => sub.errors.length > 0);
    expect(sub.errors[0]).toMatchObject({ extensions: { code: "INSUFFICIENT_CLEARANCE" } });
    expect(sub.events).toEqual([]);
  });
});
