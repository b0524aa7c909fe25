import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIVEKIT_ENV, liveKitBody, postWebhook, signWebhook } from "../support/livekit.ts";
import { startRoomService, type FakeRoomService } from "../support/livekit-server.ts";
import { runQueuedJobs } from "../support/jobs.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

let t: TestServer;
let livekit: FakeRoomService;

/** Queue a sweep and run it, with whatever else is queued, as a worker would. */
async function runTask(identifier: string) {
  await t.pool.query("select graphile_worker.add_job($1, '{}'::json)", [identifier]);
  await runQueuedJobs(t);
}

/** A signed join delivered to the webhook and applied. */
async function join(room: string, sid: string, at: number) {
  const body = liveKitBody("participant_joined", room, at, { identity: `id-${sid}`, sid });
  expect((await postWebhook(t.baseUrl, body, await signWebhook(body))).status).toBe(200);
  await runQueuedJobs(t);
}

async function openSids(): Promise<string[]> {
  const { rows } = await t.pool.query("select participant_sid from public.voice_presence where left_at is null order by 1");
  return rows.map((r) => r.participant_sid);
}

beforeAll(async () => {
  livekit = await startRoomService();
  t = await startTestServer({ env: { ...LIVEKIT_ENV, LIVEKIT_URL: livekit.url.replace("http", "ws"), PRESENCE_MAX_OPEN_HOURS: "2" } });
});
afterAll(async () => {
  await t?.close();
  await livekit?.close();
});

describe("presence sweeps", () => {
  it("reconcile closes sessions LiveKit no longer lists, and a room LiveKit no longer has", async () => {
    const now = Math.floor(Date.now() / 1000) - 60;
    await join("alpha", "PA_a1", now);
    await join("alpha", "PA_a2", now);
    await join("bravo", "PA_b1", now);
    await runTask("presence__sweep_stale"); // nothing is stale yet
    expect(await openSids()).toEqual(["PA_a1", "PA_a2", "PA_b1"]);

    livekit.rooms.set("alpha", ["PA_a2"]); // bravo is gone entirely
    await runTask("presence__reconcile");
    expect(await openSids()).toEqual(["PA_a2"]);
    expect(livekit.requests.map((r) => r.room).sort()).toEqual(["alpha", "bravo"]);
    expect(livekit.requests.every((r) => r.authorized)).toBe(true);
    const { rows } = await t.pool.query("select left_reason from public.voice_presence where participant_sid = 'PA_b1'");
    expect(rows[0].left_reason).toBe("reconciled");
  });

  it("reconcile leaves sessions alone when LiveKit fails, even with 'not found' in its message", async () => {
    await join("delta", "PA_d1", Math.floor(Date.now() / 1000) - 60);
    expect(await openSids()).toContain("PA_d1");
    livekit.outage = { status: 503, code: "unavailable", msg: "upstream node not found" };
    const { rows } = await t.pool.query("select id from graphile_worker.add_job('presence__reconcile', '{}'::json, max_attempts => 1)");
    const job = rows[0].id;
    await runQueuedJobs(t);
    const failed = await t.pool.query("select attempts, last_error from graphile_worker.jobs where id = $1", [job]);
    expect(failed.rows[0]).toMatchObject({ attempts: 1, last_error: expect.stringMatching(/LiveKit unreachable/) });
    await t.pool.query("select graphile_worker.complete_jobs(array[$1::bigint])", [job]);
    livekit.outage = undefined;
    expect(await openSids()).toContain("PA_d1");
    await t.pool.query("update public.voice_presence set left_at = now(), left_reason = 'test' where participant_sid = 'PA_d1'");
  });

  it("the stale sweep closes sessions with no event for longer than PRESENCE_MAX_OPEN_HOURS", async () => {
    await t.pool.query("update public.voice_presence set last_event_at = now() - interval '3 hours' where participant_sid = 'PA_a2'");
    await runTask("presence__sweep_stale");
    expect(await openSids()).toEqual([]);
  });

  it("the runbook's monitoring SQL runs verbatim, and so do the operators' views", async () => {
    const recent = await t.pool.query(`SELECT
  room_name,
  participant_identity,
  joined_at,
  left_at,
  participant_metadata->>'rank' as rank
FROM voice_presence
WHERE joined_at > now() - interval '1 hour'
ORDER BY joined_at DESC
LIMIT 20;`);
    expect(recent.rows.length).toBe(4);
    const stale = await t.pool.query(`SELECT COUNT(*) as stale_count
FROM voice_presence
WHERE left_at IS NULL
  AND joined_at < now() - interval '10 minutes';`);
    expect(stale.rows[0].stale_count).toBe("0");
    expect((await t.pool.query("select * from nexus_private.recent_presence")).rows.length).toBe(4);
    expect((await t.pool.query("select stale_count from nexus_private.stale_presence")).rows[0].stale_count).toBe("0");
  });
});

describe("metrics", () => {
  it("exposes open and stale presence on /metrics", async () => {
    await join("charlie", "PA_c1", Math.floor(Date.now() / 1000) - 3600);
    const text = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(text).toMatch(/^nexus_presence_open 1$/m);
    expect(text).toMatch(/^nexus_presence_stale 1$/m);
  });
});
