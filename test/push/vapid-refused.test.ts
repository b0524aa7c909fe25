import webpush from "web-push";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMember, type Member } from "../support/members.ts";
import { memberWithDevice } from "../support/push-devices.ts";
import { startPushService, type PushService } from "../support/push-service.ts";
import { until } from "../support/eventually.ts";
import { spawnWorker, type WorkerProcess } from "../support/processes.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "../support/server.ts";

/**
 * A VAPID pair rotated under subscriptions made with the old one (the operator trial's M3): the worker, started
 * with a new pair, has every push refused with 403 by the push service the devices subscribed to. That must be
 * a warning saying what it means and what to do, with counts, once a batch; the worker's start line names the
 * public key it signs with. A 410 (a device gone) is not that warning. Delivery is unchanged: the 403 rows fail
 * for good, the devices stay. The local push service checks VAPID exactly (k, then the JWT's signature under it).
 */
const oldPair = webpush.generateVAPIDKeys();
const newPair = webpush.generateVAPIDKeys();
const vapidEnv = (pair: { publicKey: string; privateKey: string }) => ({
  NEXT_PUBLIC_VAPID_PUBLIC_KEY: pair.publicKey,
  VAPID_PRIVATE_KEY: pair.privateKey,
  VAPID_SUBJECT: "mailto:ops@nomadnexus.test",
});

let t: TestServer;
let service: PushService;
let worker: WorkerProcess | undefined;

const workerEnv = (pair: { publicKey: string; privateKey: string }) => ({ ...vapidEnv(pair), DATABASE_URL: t.db.url, JWT_SECRET: TEST_JWT_SECRET, ...service.env });

beforeAll(async () => {
  service = await startPushService({ vapidPublicKey: oldPair.publicKey });
  t = await startTestServer({ env: { ...vapidEnv(oldPair), ...service.env } });
}, 90_000);
afterAll(async () => {
  await worker?.kill("SIGTERM");
  await t?.close();
  await service?.close();
});

async function fireAndSettle(member: Member): Promise<string> {
  const res = await t.graphql(
    `mutation { fireRescueFlare(input: { location: "Hurston, Lorville", flareType: MEDICAL }) { rescueFlare { id } } }`,
    {},
    member.token,
  );
  expect(res.body.errors).toBeUndefined();
  const flareId = res.body.data.fireRescueFlare.rescueFlare.id;
  await until("the flare's pages to settle", async () => {
    const { rows } = await t.pool.query(
      "select count(*)::int as queued, count(*) filter (where sent_at is null and failed_at is null)::int as pending from public.notification_queue where dedupe_key = $1",
      [`flare:${flareId}`],
    );
    return rows[0].queued > 0 && rows[0].pending === 0;
  }, { timeoutMs: 30_000 });
  return flareId;
}

const lines = (w: WorkerProcess) =>
  w
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, any>);

describe("pushes refused for our VAPID credentials", () => {
  it("are one warning a batch, with counts and what to do; the worker's start line names its public key", async () => {
    const requester = await createMember(t.pool, "SCOUT");
    const others = [];
    for (const rank of ["VOYAGER", "VOYAGER", "PIONEER"] as const) others.push(await memberWithDevice(t, service, { kind: "accept" }, rank));
    // The worker comes back with a new pair; the devices subscribed with the old one.
    worker = await spawnWorker(workerEnv(newPair));
    const started = lines(worker).find((l) => l.msg === "worker started");
    expect(started?.vapidPublicKey).toBe(newPair.publicKey);

    const flareId = await fireAndSettle(requester);
    const { rows } = await t.pool.query("select failed_at is not null as failed, last_error from public.notification_queue where dedupe_key = $1", [`flare:${flareId}`]);
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row).toMatchObject({ failed: true, last_error: expect.stringMatching(/^HTTP 403/) });
    const { rows: devices } = await t.pool.query("select count(*)::int as n from public.push_subscriptions where user_id = any($1)", [others.map((o) => o.member.id)]);
    expect(devices[0].n, "403 deletes no device (only 404/410 do)").toBe(3);

    const warnings = lines(worker).filter((l) => l.level === 40 && /refused our VAPID credentials/.test(l.msg));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ refused: 3, of: 3, vapidPublicKey: newPair.publicKey, firstError: expect.stringMatching(/^HTTP 403/) });
    expect(warnings[0]!.msg).toMatch(/subscribe again with the key GET \/push\/vapid-public-key serves/);
    expect(warnings[0]!.msg).toMatch(/old pair/);
    const batch = lines(worker).find((l) => l.msg === "push batch delivered");
    expect(batch).toMatchObject({ sent: 0, gone: 0, failed: 3, retry: 0 });
    await worker.kill("SIGTERM");
    worker = undefined;
  }, 90_000);

  it("a device gone (410) under the right pair is no such warning", async () => {
    worker = await spawnWorker(workerEnv(oldPair));
    const requester = await createMember(t.pool, "SCOUT");
    await memberWithDevice(t, service, { kind: "gone" });
    await memberWithDevice(t, service, { kind: "accept" });
    const flareId = await fireAndSettle(requester);
    const { rows } = await t.pool.query("select count(*) filter (where last_error like 'HTTP 410%')::int as gone from public.notification_queue where dedupe_key = $1", [`flare:${flareId}`]);
    expect(rows[0].gone).toBe(1);
    expect(lines(worker).filter((l) => l.level >= 40)).toEqual([]);
  }, 90_000);
});
