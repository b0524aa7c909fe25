/**
 * Forged webhook deliveries against a production-mode server, on both webhook paths: whatever the JWT in
 * `Authorization` claims, only HS256 under the webhook secret, issued by our API key, over the exact body's
 * sha256, lets the body be read. Every forgery is 401 and leaves voice_presence, room_finishes and the job queue
 * as they were; a correctly signed event dated far in the future is 400 and enqueues nothing.
 *
 * No worker runs here: a forged event that got through would sit in the queue, where the snapshot sees it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WEBHOOK_PATHS } from "../../server/presence/rest.ts";
import { LIVEKIT_ENV, liveKitBody, postWebhook, signWebhook } from "../support/livekit.ts";
import { forgeries } from "../support/webhook-forgeries.ts";
import { createMember } from "../support/members.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

let t: TestServer;
let victim: string;
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  t = await startTestServer({ env: { ...LIVEKIT_ENV, NODE_ENV: "production" } });
  victim = (await createMember(t.pool, "SCOUT")).id;
  await t.pool.query(
    "insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx) values ('Ops', 'ops-net', 'FOUNDER', 'FOUNDER', 'FOUNDER')",
  );
});
afterAll(async () => t?.close());

/** Everything a forged event could write: presence, remembered room ends, and any queued job. */
async function snapshot() {
  const { rows } = await t.pool.query(`
    select (select count(*)::int from public.voice_presence) as presence,
           (select count(*)::int from nexus_private.room_finishes) as finishes,
           (select count(*)::int from graphile_worker.jobs) as jobs,
           (select coalesce(max(id), 0)::int from graphile_worker.jobs) as last_job`);
  return rows[0];
}

// The attacks the issue reports, in both dialects: a stranger on a FOUNDER net's roster, every session of a room
// closed, and a room_finished in the year 3000 that would close every later real join.
const bodies = {
  "LiveKit's own participant_joined": () =>
    liveKitBody("participant_joined", "ops-net", now(), { identity: victim, sid: "PA_forged", metadata: JSON.stringify({ userId: victim }) }),
  "LiveKit's own room_finished in the year 3000": () => liveKitBody("room_finished", "ops-net", 32_503_680_000),
  "the runbook's hand-made participant_joined": () =>
    JSON.stringify({
      event: "participant_joined",
      room: "ops-net",
      participant: { identity: victim, sid: "PA_forged_runbook", metadata: JSON.stringify({ userId: victim }) },
      timestamp: now(),
    }),
  "the runbook's hand-made room_finished": () => JSON.stringify({ event: "room_finished", room: "ops-net", timestamp: now() }),
};

describe.each(WEBHOOK_PATHS)("forged deliveries to %s", (path) => {
  it.each(Object.entries(bodies))("refuses every forgery of %s with 401 and writes nothing", async (_label, makeBody) => {
    const body = makeBody();
    const before = await snapshot();
    for (const [label, authorization] of await forgeries(body)) {
      const res = await postWebhook(t.baseUrl, body, authorization, path);
      expect(res.status, label).toBe(401);
      expect(await res.json(), label).toMatchObject({ error: "UNAUTHENTICATED" });
    }
    expect(await snapshot()).toEqual(before);
  });

  it("refuses a correctly signed event dated more than 5 minutes ahead with 400, in both dialects, and enqueues nothing", async () => {
    const before = await snapshot();
    const ahead = now() + 600;
    const future = [
      liveKitBody("room_finished", "ops-net", 32_503_680_000),
      liveKitBody("participant_joined", "ops-net", ahead, { identity: victim, sid: "PA_ahead" }),
      JSON.stringify({ event: "room_finished", room: "ops-net", timestamp: 32_503_680_000 }),
      JSON.stringify({ event: "participant_left", room: "ops-net", participant: { identity: victim, sid: "PA_ahead" }, createdAt: ahead }),
    ];
    for (const body of future) {
      const res = await postWebhook(t.baseUrl, body, await signWebhook(body), path);
      expect(res.status, body).toBe(400);
      expect((await res.json()).message, body).toMatch(/in the future/);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("still enqueues a genuine delivery, in either dialect, and one a little ahead of our clock", async () => {
    const before = await snapshot();
    const genuine = [
      liveKitBody("participant_joined", "ops-net", now(), { identity: victim, sid: `PA_ok_${path.length}` }),
      liveKitBody("participant_left", "ops-net", now() + 120, { identity: victim, sid: `PA_ok_${path.length}` }),
      JSON.stringify({ event: "participant_joined", room: "test-room", participant: { identity: "test-user-123", sid: `PA_t${path.length}` }, timestamp: 1702050000 }),
    ];
    for (const body of genuine) {
      const res = await postWebhook(t.baseUrl, body, await signWebhook(body), path);
      expect(res.status, body).toBe(200);
      expect(await res.json()).toMatchObject({ received: true, enqueued: true });
    }
    expect((await snapshot()).jobs).toBe(before.jobs + genuine.length);
  });
});
