/**
 * A push service that answers its status and then streams a body that never ends, against a production-mode
 * worker with the default 10 s deadline. The worker keeps the first MAX_ANSWER_BYTES (4096) of an answer for
 * last_error; past that it must stop reading and close the connection, and decide the row from the status as for a
 * complete answer: a 201 is sent, a 500 is retried with the status as the reason, neither waits for the deadline.
 * Before, it kept downloading until PUSH_TIMEOUT_MS cut it: some 220 MiB over TLS per push, per retry.
 */
import webpush from "web-push";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.ts";
import { createMember } from "../support/members.ts";
import { memberWithDevice } from "../support/push-devices.ts";
import { spawnWorker, type WorkerProcess } from "../support/processes.ts";
import { startPushService, type Behaviour, type PushService } from "../support/push-service.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "../support/server.ts";

const vapid = webpush.generateVAPIDKeys();
const VAPID_ENV = { NEXT_PUBLIC_VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey, VAPID_SUBJECT: "mailto:ops@nomadnexus.test" };
const DEADLINE_MS = 10_000;
const MiB = 1024 * 1024;

let t: TestServer;
let service: PushService;
let worker: WorkerProcess;

beforeAll(async () => {
  service = await startPushService({ vapidPublicKey: vapid.publicKey });
  t = await startTestServer({ env: { ...VAPID_ENV, ...service.env, NODE_ENV: "production" } });
  worker = await spawnWorker({
    ...VAPID_ENV,
    ...service.env,
    NODE_ENV: "production",
    DATABASE_URL: t.db.url,
    JWT_SECRET: TEST_JWT_SECRET,
    PUSH_TIMEOUT_MS: String(DEADLINE_MS),
  });
}, 90_000);
afterAll(async () => {
  await worker?.kill("SIGKILL");
  await t?.close();
  await service?.close();
});

const device = async (behaviour: Behaviour) => (await memberWithDevice(t, service, behaviour)).device;

describe("a push service that streams an endless body", () => {
  it("is read for its status and first 4096 bytes, then cut off: 201 sent, 500 retried, long before the deadline", async () => {
    const ok = await device({ kind: "flood", status: 201 });
    const broken = await device({ kind: "flood", status: 500 });
    const fine = await device({ kind: "accept" });
    const requester = await createMember(t.pool, "SCOUT");
    const fired = await t.graphql(
      `mutation($input: FireRescueFlareInput!) { fireRescueFlare(input: $input) { rescueFlare { id } } }`,
      { input: { location: "Yela belt", flareType: "FUEL" } },
      requester.token,
    );
    const flareId: string = fired.body.data.fireRescueFlare.rescueFlare.id;

    const rows = await eventually(
      "the first attempt at every row to be recorded",
      async () => {
        const { rows } = await t.pool.query<{ endpoint: string; attempts: number; sent: boolean; failed: boolean; last_error: string | null }>(
          `select s.endpoint, q.attempts, q.sent_at is not null as sent, q.failed_at is not null as failed, q.last_error
             from public.notification_queue q join public.push_subscriptions s on s.id = q.subscription_id
            where q.dedupe_key = $1 and s.endpoint = any($2)`,
          [`flare:${flareId}`, [ok.endpoint, broken.endpoint, fine.endpoint]],
        );
        return rows.length === 3 && rows.every((r) => r.sent || r.attempts >= 1) ? new Map(rows.map((r) => [r.endpoint, r])) : undefined;
      },
      // Well inside the deadline: a sender that waited for it would not get here in time.
      { timeoutMs: DEADLINE_MS / 2 },
    );
    expect(rows.get(fine.endpoint)).toMatchObject({ sent: true, last_error: null });
    expect(rows.get(ok.endpoint), "a 2xx with an overlong body is sent").toMatchObject({ sent: true, attempts: 1, last_error: null });
    const retried = rows.get(broken.endpoint)!;
    expect(retried, "a 500 with an overlong body is retried").toMatchObject({ sent: false, failed: false });
    expect(retried.attempts).toBeGreaterThanOrEqual(1);
    expect(retried.last_error, "the status decides, not the deadline nor a network error").toMatch(/^HTTP 500: x{300}$/);

    for (const subscriber of [ok, broken]) {
      const flood = await eventually(`the flood to ${subscriber.id} to be closed by the sender`, async () => {
        const first = service.floods.find((f) => f.subscriberId === subscriber.id);
        return first?.closedAt !== undefined ? first : undefined;
      });
      expect(flood.bytesWritten, `${flood.status}: body bytes the push service got to write before the sender closed`).toBeLessThan(MiB);
      expect(flood.closedAt! - flood.openedAt, `${flood.status}: ms the connection stayed open`).toBeLessThan(DEADLINE_MS / 5);
    }
  }, 60_000);
});
