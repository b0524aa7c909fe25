import pg from "pg";
import webpush from "web-push";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMember, type Member, type Rank } from "../support/members.ts";
import { startPushService, type Behaviour, type PushService, type Subscriber } from "../support/push-service.ts";
import { until } from "../support/eventually.ts";
import { spawnWorker, type WorkerProcess } from "../support/processes.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "../support/server.ts";

/**
 * Rescue flares end to end: the API server in this process, the worker as its own process, and a push service
 * on 127.0.0.1 that decrypts every message and checks every VAPID header.
 *
 * The worker must be its own process for two reasons. web-push speaks only https, and the local push service's
 * certificate is self-signed: the worker trusts it through NODE_EXTRA_CA_CERTS, the way a production worker
 * trusts FCM's through the system store, with no test hook in the sending code; Node reads NODE_EXTRA_CA_CERTS
 * once, when a process starts, so only a process started with it will do. And a worker that dies mid-fan-out
 * has to be a process that can be SIGKILLed.
 */
const vapid = webpush.generateVAPIDKeys();
const VAPID_ENV = {
  NEXT_PUBLIC_VAPID_PUBLIC_KEY: vapid.publicKey,
  VAPID_PRIVATE_KEY: vapid.privateKey,
  VAPID_SUBJECT: "mailto:ops@nomadnexus.test",
};
// Small pages and batches, so a few dozen devices make several of each; a killed worker is dead after 2 s.
const workerEnv = () => ({
  ...VAPID_ENV,
  DATABASE_URL: t.db.url,
  JWT_SECRET: TEST_JWT_SECRET,
  ...service.env,
  PUSH_FANOUT_PAGE_SIZE: "5",
  PUSH_BATCH_SIZE: "3",
  WORKER_CONCURRENCY: "4",
  WORKER_DEAD_AFTER_SECONDS: "2",
});

let t: TestServer;
let service: PushService;
let worker: WorkerProcess;

beforeAll(async () => {
  service = await startPushService({ vapidPublicKey: vapid.publicKey });
  t = await startTestServer({ env: { ...VAPID_ENV, ...service.env } });
  worker = await spawnWorker(workerEnv());
}, 90_000);
afterAll(async () => {
  await worker?.kill("SIGTERM");
  await t?.close();
  await service?.close();
});

/** A member with devices on the push service, subscribed through GraphQL or the runbook's REST route in turn. */
async function memberWithDevices(rank: Rank, behaviours: Behaviour[] = [{ kind: "accept" }]): Promise<{ member: Member; devices: Subscriber[] }> {
  const member = await createMember(t.pool, rank);
  const devices: Subscriber[] = [];
  for (const [i, behaviour] of behaviours.entries()) {
    const device = service.subscribe(behaviour);
    if (i % 2 === 0) {
      const res = await t.graphql(
        `mutation($input: SubscribePushInput!) { subscribePush(input: $input) { pushSubscription { endpoint userId } } }`,
        { input: { endpoint: device.endpoint, p256dh: device.p256dh, auth: device.auth } },
        member.token,
      );
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data.subscribePush.pushSubscription).toEqual({ endpoint: device.endpoint, userId: member.id });
    } else {
      const res = await t.rest("notifications-subscribe", { endpoint: device.endpoint, auth: device.auth, p256dh: device.p256dh }, member.token);
      expect(res).toEqual({ status: 200, body: { success: true } });
    }
    devices.push(device);
  }
  return { member, devices };
}

async function fire(member: Member, location: string, flareType: string): Promise<string> {
  const res = await t.graphql(
    `mutation($input: FireRescueFlareInput!) { fireRescueFlare(input: $input) { rescueFlare { id status } } }`,
    { input: { location, flareType } },
    member.token,
  );
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data.fireRescueFlare.rescueFlare.status).toBe("OPEN");
  return res.body.data.fireRescueFlare.rescueFlare.id;
}

/** Every device in the database except the requester's: who a flare must reach. */
async function recipientsOf(requester: Member): Promise<Subscriber[]> {
  const { rows } = await t.pool.query<{ endpoint: string }>("select endpoint from public.push_subscriptions where user_id <> $1", [requester.id]);
  return rows.map((r) => service.subscribers.get(r.endpoint.split("/").pop()!)!);
}

const flareDeliveries = (device: Subscriber, flareId: string) =>
  service.deliveriesFor(device.id).filter((d) => d.payload.flareId === flareId && d.payload.type === "RESCUE_FLARE");

/** Until the fan-out queued `expected` rows for this key and none is pending any more. */
async function waitForQueueSettled(dedupeKey: string, expected: number, timeoutMs = 20_000): Promise<void> {
  await until(`the ${expected} notifications of ${dedupeKey} to settle`, async () => {
    const { rows } = await t.pool.query(
      "select count(*)::int as queued, count(*) filter (where sent_at is null and failed_at is null)::int as pending from public.notification_queue where dedupe_key = $1",
      [dedupeKey],
    );
    return rows[0].queued >= expected && rows[0].pending === 0;
  }, { timeoutMs });
}

describe("a rescue flare over Web Push", () => {
  it("reaches every other member's every device exactly once, decrypted, with the flare's details", async () => {
    const requester = await memberWithDevices("SCOUT", [{ kind: "accept" }]);
    const others = [
      await memberWithDevices("VAGRANT"),
      await memberWithDevices("AFFILIATE", [{ kind: "accept" }, { kind: "accept" }]),
      await memberWithDevices("VOYAGER"),
      await memberWithDevices("FOUNDER", [{ kind: "accept" }, { kind: "accept" }, { kind: "accept" }]),
      await memberWithDevices("PIONEER"),
    ];
    const tokensBefore = service.vapidTokens.size;

    const flareId = await fire(requester.member, "Stanton III - Crusader", "MEDICAL");
    const recipients = await recipientsOf(requester.member);
    expect(recipients.length).toBe(8);
    await service.waitFor(() => recipients.every((d) => flareDeliveries(d, flareId).length > 0));
    await waitForQueueSettled(`flare:${flareId}`, recipients.length);

    for (const device of recipients) {
      const received = flareDeliveries(device, flareId);
      expect(received, `device ${device.id} gets the flare once`).toHaveLength(1);
      expect(received[0]!.payload).toMatchObject({
        type: "RESCUE_FLARE",
        flareId,
        location: "Stanton III - Crusader",
        flareType: "MEDICAL",
        status: "OPEN",
        requesterId: requester.member.id,
        requesterCallsign: requester.member.callsign,
        title: "Rescue flare: MEDICAL",
        body: `${requester.member.callsign} needs medical help at Stanton III - Crusader`,
      });
      expect(received[0]!.headers).toEqual({ ttl: "3600", urgency: "high" });
    }
    expect(flareDeliveries(requester.devices[0]!, flareId), "the requester is not paged about their own flare").toHaveLength(0);
    expect(others.flatMap((o) => o.devices).every((d) => recipients.includes(d))).toBe(true);
    expect(service.rejected, "every VAPID header checked out and every body decrypted").toEqual([]);
    expect(service.vapidTokens.size - tokensBefore, "one VAPID JWT for the push service, reused for every message").toBeLessThanOrEqual(1);

    const { rows } = await t.pool.query(
      "select count(*)::int as n, count(sent_at)::int as sent, max(attempts) as attempts from public.notification_queue where dedupe_key = $1",
      [`flare:${flareId}`],
    );
    expect(rows[0]).toEqual({ n: 8, sent: 8, attempts: 1 });
  });

  it("prunes a device whose push service answers 410 Gone, and still pages the others", async () => {
    const requester = await memberWithDevices("VOYAGER");
    const gone = await memberWithDevices("SCOUT", [{ kind: "gone" }, { kind: "accept" }]);
    const goneDevice = gone.devices[0]!;
    const recipients = await recipientsOf(requester.member);

    const flareId = await fire(requester.member, "Yela belt", "FUEL");
    await waitForQueueSettled(`flare:${flareId}`, recipients.length);

    const { rows: subscriptions } = await t.pool.query("select 1 from public.push_subscriptions where endpoint = $1", [goneDevice.endpoint]);
    expect(subscriptions, "the subscription is deleted").toHaveLength(0);
    const { rows } = await t.pool.query(
      "select failed_at is not null as failed, sent_at, last_error, subscription_id from public.notification_queue where dedupe_key = $1 and user_id = $2 and last_error is not null",
      [`flare:${flareId}`, gone.member.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ failed: true, sent_at: null, subscription_id: null });
    expect(rows[0].last_error).toMatch(/^HTTP 410/);
    expect(goneDevice.requests).toBe(1);
    expect(flareDeliveries(gone.devices[1]!, flareId), "the member's other device is paged").toHaveLength(1);
    for (const device of recipients.filter((d) => d !== goneDevice)) expect(flareDeliveries(device, flareId)).toHaveLength(1);
  });

  it("retries a push service that answers 500, with backoff, and delivers once it answers 201", async () => {
    const requester = await memberWithDevices("FOUNDER");
    const flaky = await memberWithDevices("AFFILIATE", [{ kind: "fail-first", times: 1, status: 500 }]);
    const device = flaky.devices[0]!;
    const recipients = await recipientsOf(requester.member);

    const flareId = await fire(requester.member, "Daymar, Shubin SAL-2", "REPAIR");
    await service.waitFor(() => flareDeliveries(device, flareId).length > 0, 25_000);
    await waitForQueueSettled(`flare:${flareId}`, recipients.length);

    expect(device.requests, "one 500, then the retry").toBe(2);
    expect(flareDeliveries(device, flareId)).toHaveLength(1);
    const { rows } = await t.pool.query(
      "select attempts, last_error, sent_at is not null as sent from public.notification_queue where dedupe_key = $1 and subscription_id = (select id from public.push_subscriptions where endpoint = $2)",
      [`flare:${flareId}`, device.endpoint],
    );
    expect(rows[0]).toEqual({ attempts: 2, last_error: null, sent: true });
    // The retry resent only what had failed: every other device still has the flare exactly once.
    for (const d of recipients) expect(flareDeliveries(d, flareId)).toHaveLength(1);
  }, 40_000);

  it("a page waiting to be retried is not sent to a device another member has since registered (a shared browser)", async () => {
    const requester = await memberWithDevices("FOUNDER");
    // Failing more often than it can be retried before the move, so nothing reaches it while SCOUT still holds it.
    const previous = await memberWithDevices("SCOUT", [{ kind: "fail-first", times: 8, status: 500 }]);
    const device = previous.devices[0]!;
    const flareId = await fire(requester.member, "Hurston, Lorville gates", "COMBAT");
    // Polled: the push service's waitFor looks again only on a delivery, and this device answers 500.
    await until("the first attempt at SCOUT's device", async () => device.requests >= 1, { timeoutMs: 20_000 });
    // The next member signs in on the same browser, which posts its subscription again.
    const next = await createMember(t.pool, "VOYAGER");
    const moved = await t.rest("notifications-subscribe", { endpoint: device.endpoint, auth: device.auth, p256dh: device.p256dh }, next.token);
    expect(moved).toEqual({ status: 200, body: { success: true } });
    const beforeMove = device.requests;
    await waitForQueueSettled(`flare:${flareId}`, (await recipientsOf(requester.member)).length, 25_000);

    // The first attempt's 500 (and, on a slow machine, a retry's) came before the move; nothing after it.
    expect(device.requests, "no retry to the device now held by another member").toBe(beforeMove);
    expect(flareDeliveries(device, flareId)).toHaveLength(0);
    const { rows } = await t.pool.query(
      "select sent_at, failed_at is not null as failed, last_error from public.notification_queue where dedupe_key = $1 and user_id = $2",
      [`flare:${flareId}`, previous.member.id],
    );
    expect(rows).toEqual([{ sent_at: null, failed: true, last_error: "the device was registered by another member before this was sent" }]);
    // A device that keeps answering 500 would hold up the later tests' flares.
    const gone = await t.graphql(`mutation($e: String!) { unsubscribePush(input: { endpoint: $e }) { unsubscribed } }`, { e: device.endpoint }, next.token);
    expect(gone.body.data.unsubscribePush.unsubscribed).toBe(true);
  }, 40_000);

  it("pages the requester when a responder answers", async () => {
    const requester = await memberWithDevices("PIONEER", [{ kind: "accept" }, { kind: "accept" }]);
    const responder = await createMember(t.pool, "VAGRANT");
    const flareId = await fire(requester.member, "Port Olisar", "TRANSPORT");

    const ack = await t.graphql(
      `mutation($input: AcknowledgeRescueFlareInput!) { acknowledgeRescueFlare(input: $input) { rescueFlare { status responderId } } }`,
      { input: { flareId } },
      responder.token,
    );
    expect(ack.body.data.acknowledgeRescueFlare.rescueFlare).toEqual({ status: "ACKNOWLEDGED", responderId: responder.id });

    const acknowledged = (d: Subscriber) => service.deliveriesFor(d.id).filter((x) => x.payload.type === "FLARE_ACKNOWLEDGED" && x.payload.flareId === flareId);
    await service.waitFor(() => requester.devices.every((d) => acknowledged(d).length > 0));
    for (const d of requester.devices) {
      expect(acknowledged(d)).toHaveLength(1);
      expect(acknowledged(d)[0]!.payload).toMatchObject({
        responderId: responder.id,
        responderCallsign: responder.callsign,
        location: "Port Olisar",
        flareType: "TRANSPORT",
        title: "Help is on the way",
      });
    }
  });

  it("still pages everyone when the worker is killed in the middle of a fan-out and started again", async () => {
    const requester = await memberWithDevices("SCOUT");
    for (let i = 0; i < 6; i++) await memberWithDevices("AFFILIATE", [{ kind: "accept" }, { kind: "accept" }]);
    const recipients = await recipientsOf(requester.member);
    expect(recipients.length).toBeGreaterThan(10); // pages of 5: at least three

    // Hold a lock on the first device of the second page: its insert waits on the foreign key check, so the
    // fan-out commits page one and then stops inside page two, with its job locked by this worker.
    const { rows: ordered } = await t.pool.query<{ id: string }>(
      "select id from public.push_subscriptions where user_id <> $1 order by id",
      [requester.member.id],
    );
    const blocker = new pg.Client({ connectionString: t.db.url });
    blocker.on("error", () => {}); // if this test fails midway, dropping the database ends this connection
    await blocker.connect();
    await blocker.query("begin");
    await blocker.query("select 1 from public.push_subscriptions where id = $1 for update", [ordered[5]!.id]);

    const fired = await t.rest("handle-rescue-request", { location: "Lorville, Teasa Spaceport", flareType: "combat" }, requester.member.token);
    expect(fired).toEqual({ status: 200, body: { flareId: expect.any(String), status: "OPEN" } });
    const flareId: string = fired.body.flareId;

    await until("the fan-out to send page one and block on page two", async () => {
      const { rows } = await t.pool.query(
        `select (select count(sent_at)::int from public.notification_queue where dedupe_key = $1) as sent,
                (select count(*)::int from pg_stat_activity where wait_event_type = 'Lock' and query like '%fan_out_flare%') as blocked`,
        [`flare:${flareId}`],
      );
      return rows[0].sent === 5 && rows[0].blocked === 1;
    });

    await worker.kill("SIGKILL");
    const { rows: held } = await t.pool.query(
      "select count(*)::int as n from graphile_worker.jobs where task_identifier = 'push__fanout' and locked_by is not null",
    );
    expect(held[0].n, "the killed worker left its fan-out job locked").toBe(1);
    await blocker.query("rollback");
    await blocker.end();

    // Its heartbeat stops; once it is WORKER_DEAD_AFTER_SECONDS old, the next worker to start takes its jobs back.
    await until("the killed worker's heartbeat to be 2 s old", async () => {
      const { rows } = await t.pool.query(
        "select count(*)::int as n from nexus_private.worker_heartbeats where last_seen > now() - interval '2 seconds'",
      );
      return rows[0].n === 0;
    });
    worker = await spawnWorker(workerEnv());
    await service.waitFor(() => recipients.every((d) => flareDeliveries(d, flareId).length > 0), 20_000);
    await waitForQueueSettled(`flare:${flareId}`, recipients.length);

    for (const device of recipients) expect(flareDeliveries(device, flareId), `device ${device.id}`).toHaveLength(1);
    expect(flareDeliveries(requester.devices[0]!, flareId)).toHaveLength(0);
    expect(worker.output()).toContain("unlocked the jobs of workers that stopped answering");
    expect(service.rejected).toEqual([]);
  }, 60_000);
});
