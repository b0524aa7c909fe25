/**
 * Push services that never finish answering, against a production-mode server and worker: one that sends 201 and
 * then stalls mid-body, one that reads the request and never answers, one that accepts the TCP connection and
 * never speaks. The worker runs one job at a time for everything else and one push job at a time
 * (WORKER_CONCURRENCY=1, PUSH_CONCURRENCY=1), so a push job that never settled, or that ran in the slot webhook
 * applies use, would stop presence for good.
 *
 * What must hold: every other device gets the flare at once; a signed webhook sent while the stalled push job
 * still holds its connections is applied; by PUSH_TIMEOUT_MS the sender has closed every stalled connection and
 * the batch is done, the stalled rows marked for retry with the reason; retried until the job's attempts run out,
 * they end failed, with the reason, and nobody else is paged twice.
 */
import webpush from "web-push";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.ts";
import { LIVEKIT_ENV, liveKitBody, postWebhook, signWebhook } from "../support/livekit.ts";
import { createMember } from "../support/members.ts";
import { memberWithDevice } from "../support/push-devices.ts";
import { spawnWorker, type WorkerProcess } from "../support/processes.ts";
import { startPushService, type PushService, type Subscriber } from "../support/push-service.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "../support/server.ts";

const vapid = webpush.generateVAPIDKeys();
const VAPID_ENV = { NEXT_PUBLIC_VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey, VAPID_SUBJECT: "mailto:ops@nomadnexus.test" };
const FIRST_DEADLINE_MS = 20_000;

let t: TestServer;
let service: PushService;
let worker: WorkerProcess;

const workerEnv = (timeoutMs: number) => ({
  ...VAPID_ENV,
  ...service.env,
  NODE_ENV: "production",
  DATABASE_URL: t.db.url,
  JWT_SECRET: TEST_JWT_SECRET,
  WORKER_CONCURRENCY: "1",
  PUSH_CONCURRENCY: "1",
  PUSH_TIMEOUT_MS: String(timeoutMs),
  WORKER_DEAD_AFTER_SECONDS: "2",
});

beforeAll(async () => {
  service = await startPushService({ vapidPublicKey: vapid.publicKey });
  t = await startTestServer({ env: { ...VAPID_ENV, ...LIVEKIT_ENV, ...service.env, NODE_ENV: "production" } });
  await t.pool.query("insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx) values ('Ops', 'ops-net', 'SCOUT', 'SCOUT', 'SCOUT')");
  worker = await spawnWorker(workerEnv(FIRST_DEADLINE_MS));
}, 90_000);
afterAll(async () => {
  await worker?.kill("SIGKILL");
  await t?.close();
  await service?.close();
});

async function rowsOf(flareId: string, devices: Subscriber[]) {
  const { rows } = await t.pool.query<{ endpoint: string; attempts: number; sent: boolean; failed: boolean; last_error: string | null }>(
    `select s.endpoint, q.attempts, q.sent_at is not null as sent, q.failed_at is not null as failed, q.last_error
       from public.notification_queue q join public.push_subscriptions s on s.id = q.subscription_id
      where q.dedupe_key = $1 and s.endpoint = any($2)`,
    [`flare:${flareId}`, devices.map((d) => d.endpoint)],
  );
  return rows;
}

describe("push services that stall", () => {
  let flareId: string;
  let stalled: Subscriber[];
  let fine: Subscriber[];

  it("cost only their own rows: everyone else is paged, a webhook is applied meanwhile, and the sockets are closed by the deadline", async () => {
    const requester = await createMember(t.pool, "SCOUT");
    stalled = [];
    for (const kind of ["stall-body", "no-answer", "silent"] as const) stalled.push((await memberWithDevice(t, service, { kind })).device);
    fine = [];
    for (let i = 0; i < 4; i++) fine.push((await memberWithDevice(t, service, { kind: "accept" })).device);

    const fired = await t.graphql(
      `mutation($input: FireRescueFlareInput!) { fireRescueFlare(input: $input) { rescueFlare { id } } }`,
      { input: { location: "Yela belt", flareType: "FUEL" } },
      requester.token,
    );
    flareId = fired.body.data.fireRescueFlare.rescueFlare.id;
    const flareFor = (d: Subscriber) => service.deliveriesFor(d.id).filter((x) => x.payload.flareId === flareId);

    await service.waitFor(() => fine.every((d) => flareFor(d).length === 1));
    await eventually("all three stalled connections to be open", async () => (service.held() === 3 ? true : undefined));

    // The only push slot is held by the stalled batch; a webhook apply must not need it.
    const body = liveKitBody("participant_joined", "ops-net", Math.floor(Date.now() / 1000), { identity: requester.id, sid: "PA_during_stall" });
    expect((await postWebhook(t.baseUrl, body, await signWebhook(body))).status).toBe(200);
    await eventually(
      "the webhook to be applied",
      async () => {
        const { rows } = await t.pool.query("select 1 from public.voice_presence where participant_sid = 'PA_during_stall' and left_at is null");
        return rows.length === 1 ? true : undefined;
      },
      { timeoutMs: FIRST_DEADLINE_MS / 2 },
    );
    expect(service.held(), "the stalled batch was still holding its connections when the webhook was applied").toBe(3);

    // By the deadline the sender gives up on each stalled push and closes its socket.
    await eventually("the stalled connections to be closed by the sender", async () => (service.held() === 0 ? true : undefined), {
      timeoutMs: FIRST_DEADLINE_MS + 15_000,
    });
    const afterFirst = await eventually("the first attempt to be recorded", async () => {
      const rows = await rowsOf(flareId, stalled);
      return rows.length === 3 && rows.every((r) => r.attempts >= 1) ? rows : undefined;
    });
    for (const row of afterFirst) {
      expect(row, row.endpoint).toMatchObject({ sent: false, failed: false });
      expect(row.last_error, row.endpoint).toMatch(new RegExp(`^deadline: no complete answer from the push service within ${FIRST_DEADLINE_MS} ms`));
    }
    for (const row of await rowsOf(flareId, fine)) expect(row, row.endpoint).toMatchObject({ sent: true, attempts: 1, last_error: null });

    const batches = worker
      .output()
      .split("\n")
      .filter((line) => line.includes('"push batch delivered"'))
      .map((line) => JSON.parse(line));
    const first = batches.find((b) => b.retry === 3);
    expect(first, "the batch was recorded with three rows to retry").toBeDefined();
    expect(first.sent).toBe(4);
    expect(first.ms.send, "the batch held its slot for the deadline, not longer").toBeLessThan(FIRST_DEADLINE_MS + 5_000);
  }, 120_000);

  it("are retried, then failed with the reason, and nobody else is paged twice", async () => {
    // A worker with a short deadline takes over; graphile-worker's backoff between attempts (seconds to minutes)
    // is skipped by moving each waiting retry to now, through its public reschedule_jobs.
    await worker.kill("SIGKILL");
    worker = await spawnWorker(workerEnv(1000));
    const stallsBefore = service.stalls;
    const settled = await eventually(
      "every stalled row to fail",
      async () => {
        await t.pool.query(
          `select graphile_worker.reschedule_jobs(array(select id from graphile_worker.jobs
             where task_identifier = 'push__deliver' and locked_at is null and attempts > 0), run_at => now())`,
        );
        const rows = await rowsOf(flareId, stalled);
        return rows.every((r) => r.failed) ? rows : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    const { rows: maxAttempts } = await t.pool.query("select nexus_private.push_delivery_max_attempts() as n");
    for (const row of settled) {
      expect(row, row.endpoint).toMatchObject({ sent: false, failed: true });
      // Retried: every attempt that got to the end is counted. The first worker was killed, maybe in the middle of
      // an attempt that graphile-worker counts and the row does not, so the row may show one fewer.
      expect(row.attempts, row.endpoint).toBeGreaterThanOrEqual(Math.max(2, maxAttempts[0].n - 1));
      expect(row.attempts, row.endpoint).toBeLessThanOrEqual(maxAttempts[0].n);
      expect(row.last_error, row.endpoint).toMatch(/^deadline: no complete answer from the push service within 1000 ms \(PUSH_TIMEOUT_MS\)$/);
    }
    expect(service.stalls - stallsBefore, "each retry tried each stalled device again").toBeGreaterThanOrEqual(3);
    await eventually("the last stalled connections to be closed", async () => (service.held() === 0 ? true : undefined));
    // The rows' last failure is committed by the job's final attempt just before graphile-worker completes it.
    await eventually("the delivery job done", async () => {
      const { rows: jobs } = await t.pool.query("select count(*)::int as n from graphile_worker.jobs where task_identifier = 'push__deliver'");
      return jobs[0].n === 0 ? true : undefined;
    });
    for (const d of fine) expect(service.deliveriesFor(d.id).filter((x) => x.payload.flareId === flareId), d.endpoint).toHaveLength(1);
  }, 120_000);
});
