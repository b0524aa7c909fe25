/**
 * One verified webhook event that Postgres cannot store must not fail the events that share its micro-batch
 * (server/presence/enqueue.ts), and a NUL in a participant's name (JSON `\u0000`, which jsonb cannot hold; a SIP
 * bridge's caller name may carry one) is stored as U+FFFD instead of failing the event. Production mode; the
 * deliveries are concurrent, so they share a batch.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobBatcher } from "../../server/presence/enqueue.ts";
import { LIVEKIT_ENV, liveKitBody, postWebhook, signWebhook } from "../support/livekit.ts";
import { runQueuedJobs } from "../support/jobs.ts";
import { createMember, type Member } from "../support/members.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

let t: TestServer;
let scout: Member;

beforeAll(async () => {
  t = await startTestServer({ env: { ...LIVEKIT_ENV, NODE_ENV: "production" } });
  scout = await createMember(t.pool, "SCOUT");
  await t.pool.query("insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx) values ('Ops', 'ops-net', 'SCOUT', 'SCOUT', 'SCOUT')");
});
afterAll(async () => t?.close());

describe("a webhook event Postgres cannot store as sent", () => {
  it("a NUL in a participant's name is stored as U+FFFD, and the delivery beside it is applied too", async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = liveKitBody("participant_joined", "ops-net", now, { identity: scout.id, sid: "PA_good", name: "Scout" });
    const nul = liveKitBody("participant_joined", "ops-net", now, { identity: "sip_+15551234", sid: "PA_nul", name: "Caller\u0000Name" });
    expect(nul).toContain("\\u0000");
    const answers = await Promise.all([good, nul].map(async (body) => postWebhook(t.baseUrl, body, await signWebhook(body))));
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    await runQueuedJobs(t);
    const { rows } = await t.pool.query("select participant_sid, participant_name from public.voice_presence where participant_sid in ('PA_good', 'PA_nul') order by 1");
    expect(rows).toEqual([
      { participant_sid: "PA_good", participant_name: "Scout" },
      { participant_sid: "PA_nul", participant_name: "Caller\uFFFDName" },
    ]);
    // An escaped backslash before u0000 is text, not a NUL, and stays as it was.
    const text = liveKitBody("participant_joined", "ops-net", now, { identity: "sip_+15559999", sid: "PA_text", name: "back\\u0000slash" });
    expect((await postWebhook(t.baseUrl, text, await signWebhook(text))).status).toBe(200);
    await runQueuedJobs(t);
    const kept = await t.pool.query("select participant_name from public.voice_presence where participant_sid = 'PA_text'");
    expect(kept.rows[0].participant_name).toBe("back\\u0000slash");
  });

  it("a batch Postgres refuses for one event's data is queued event by event: only that one fails", async () => {
    const batcher = new JobBatcher(t.pool, { maxWaitMs: 20 });
    const before = (await t.pool.query("select count(*)::int as n from graphile_worker.jobs")).rows[0].n;
    // max_attempts beyond graphile-worker's smallint: 22003, a data exception of that one spec.
    const results = await Promise.allSettled([
      batcher.add({ identifier: "presence__apply_event", payload: { id: "EV_fine_1" }, jobKey: "livekit:EV_fine_1", maxAttempts: 25 }),
      batcher.add({ identifier: "presence__apply_event", payload: { id: "EV_bad" }, jobKey: "livekit:EV_bad", maxAttempts: 40_000 }),
      batcher.add({ identifier: "presence__apply_event", payload: { id: "EV_fine_2" }, jobKey: "livekit:EV_fine_2", maxAttempts: 25 }),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: "INTERNAL" });
    const { rows } = await t.pool.query(
      `select j.payload from graphile_worker._private_jobs j join graphile_worker._private_tasks k on k.id = j.task_id
        where k.identifier = 'presence__apply_events' order by j.id desc limit 2`,
    );
    expect(rows.map((r) => r.payload.events.map((e: { id: string }) => e.id)).flat().sort()).toEqual(["EV_fine_1", "EV_fine_2"]);
    expect((await t.pool.query("select count(*)::int as n from graphile_worker.jobs")).rows[0].n).toBe(before + 2);
  });
});
