/**
 * Push endpoints that point inside the network (SSRF), subscribed over HTTP against production-mode servers:
 * REST notifications-subscribe and GraphQL subscribePush answer 400 BAD_REQUEST and store nothing for every
 * address and trick below. One server lists the local push service the way the tests do (PUSH_ALLOWED_HOSTS
 * = 127.0.0.1:*), one runs with the default list (the browsers' push services). And a device stored while the
 * list allowed it is never contacted by a worker whose list does not: its row fails with the reason.
 */
import { createECDH, randomBytes } from "node:crypto";
import webpush from "web-push";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.ts";
import { createMember, type Member } from "../support/members.ts";
import { spawnWorker, type WorkerProcess } from "../support/processes.ts";
import { PUSH_SERVICE_ALLOWED_HOSTS, startPushService, type PushService } from "../support/push-service.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "../support/server.ts";

const vapid = webpush.generateVAPIDKeys();
const VAPID_ENV = { NEXT_PUBLIC_VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey, VAPID_SUBJECT: "mailto:ops@nomadnexus.test" };

let listed: TestServer;
let defaults: TestServer;
let service: PushService;

beforeAll(async () => {
  service = await startPushService({ vapidPublicKey: vapid.publicKey });
  [listed, defaults] = await Promise.all([
    startTestServer({ env: { ...VAPID_ENV, NODE_ENV: "production", PUSH_ALLOWED_HOSTS: PUSH_SERVICE_ALLOWED_HOSTS } }),
    startTestServer({ env: { ...VAPID_ENV, NODE_ENV: "production" } }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([listed?.close(), defaults?.close()]);
  await service?.close();
});

function keys() {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  return { p256dh: ecdh.getPublicKey().toString("base64url"), auth: randomBytes(16).toString("base64url") };
}

/** Subscribe over REST and over GraphQL; each answer, and how many devices the member has afterwards. */
async function subscribeBothWays(t: TestServer, member: Member, endpoint: string) {
  const device = { endpoint, ...keys() };
  const rest = await fetch(`${t.baseUrl}/functions/v1/notifications-subscribe`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${member.token}` },
    body: JSON.stringify(device),
  });
  const graphql = await t.graphql(
    `mutation($input: SubscribePushInput!) { subscribePush(input: $input) { pushSubscription { endpoint } } }`,
    { input: device },
    member.token,
  );
  const { rows } = await t.pool.query("select count(*)::int as n from public.push_subscriptions where user_id = $1", [member.id]);
  return { rest: { status: rest.status, body: await rest.json() }, graphql: graphql.body, stored: rows[0].n as number };
}

const path = `/push/${randomBytes(8).toString("hex")}`;
// Loopback in every spelling, the private ranges, link-local and the metadata service, look-alike names and URL
// tricks that hide another host behind an allowed one.
const INTERNAL = [
  `https://localhost${path}`,
  `https://localhost:8443${path}`,
  `https://127.1${path}`,
  `https://127.1:8443${path}`,
  `https://2130706433${path}`,
  `https://0x7f000001${path}`,
  `https://0x7f.1${path}`,
  `https://0177.0.0.1${path}`,
  `https://[::1]${path}`,
  `https://[::1]:8443${path}`,
  `https://[::ffff:127.0.0.1]${path}`,
  `https://[::ffff:7f00:1]${path}`,
  `https://10.0.0.1${path}`,
  `https://10.1.2.3:9200${path}`,
  `https://172.16.0.1${path}`,
  `https://172.31.255.254${path}`,
  `https://192.168.0.1${path}`,
  `https://192.168.1.254:8443${path}`,
  `https://169.254.169.254/latest/meta-data/`,
  `https://metadata.google.internal/computeMetadata/v1/`,
  `https://fcm.googleapis.com.evil.example/fcm/send/x`,
  `https://fcm.googleapis.com@127.0.0.1:8443${path}`,
  `https://fcm.googleapis.com:443@169.254.169.254/`,
  `https://user:password@127.0.0.1:8443${path}`,
  `https://127.0.0.1:8443#@fcm.googleapis.com/fcm/send/x`,
  `https://127.0.0.1:8443\\@fcm.googleapis.com/fcm/send/x`,
  `https://127.0.0.1%3a8443@fcm.googleapis.com/x`,
  `https://127%2e0.0.1:8443${path}`,
  ` https://127.1:8443${path}`,
];

describe("subscribing an endpoint inside the network", () => {
  it.each([
    ["PUSH_ALLOWED_HOSTS=127.0.0.1:*", () => listed],
    ["the default list", () => defaults],
  ])("is 400 BAD_REQUEST over REST and GraphQL, storing nothing, with %s", async (_label, server) => {
    const t = server();
    const member = await createMember(t.pool, "VAGRANT");
    for (const endpoint of INTERNAL) {
      const answer = await subscribeBothWays(t, member, endpoint);
      expect(answer.rest, endpoint).toEqual({ status: 400, body: { error: "BAD_REQUEST", message: expect.stringMatching(/^endpoint/) } });
      expect(answer.graphql.errors?.[0]?.extensions?.code, endpoint).toBe("BAD_REQUEST");
      expect(answer.graphql.data?.subscribePush ?? null, endpoint).toBeNull();
      expect(answer.stored, endpoint).toBe(0);
    }
  });

  it("allows the push services of the list, on their ports only", async () => {
    const member = await createMember(defaults.pool, "VAGRANT");
    const allowed = [
      "https://fcm.googleapis.com/fcm/send/abc",
      "https://updates.push.services.mozilla.com/wpush/v2/abc",
      "https://wns2-par02p.notify.windows.com/w/?token=abc",
      "https://web.push.apple.com/QGx",
    ];
    for (const [i, endpoint] of allowed.entries()) {
      const answer = await subscribeBothWays(defaults, member, endpoint);
      expect(answer.rest, endpoint).toEqual({ status: 200, body: { success: true } });
      expect(answer.stored, endpoint).toBe(i + 1);
    }
    for (const endpoint of ["https://fcm.googleapis.com:8443/fcm/send/abc", "https://fcm.googleapis.com:80/fcm/send/abc", "https://push.apple.com/x"]) {
      const answer = await subscribeBothWays(defaults, member, endpoint);
      expect(answer.rest.status, endpoint).toBe(400);
      expect(answer.stored, endpoint).toBe(allowed.length);
    }
    const local = await subscribeBothWays(defaults, member, `${service.origin}${path}`);
    expect(local.rest.status, "the local push service is not on the default list").toBe(400);
    const listedMember = await createMember(listed.pool, "VAGRANT");
    expect((await subscribeBothWays(listed, listedMember, `${service.origin}${path}`)).rest).toEqual({ status: 200, body: { success: true } });
  });
});

describe("a device stored before the list changed", () => {
  let worker: WorkerProcess | undefined;
  afterAll(async () => worker?.kill("SIGTERM"));

  it("is never contacted: its row fails with the reason, and the push service sees no request", async () => {
    const member = await createMember(listed.pool, "SCOUT");
    const device = service.subscribe();
    const stored = await subscribeBothWays(listed, member, device.endpoint);
    expect(stored.rest.status).toBe(200);

    // The operator narrows the list to the default: the worker now runs without 127.0.0.1.
    worker = await spawnWorker({ ...VAPID_ENV, NODE_ENV: "production", DATABASE_URL: listed.db.url, JWT_SECRET: TEST_JWT_SECRET, NODE_EXTRA_CA_CERTS: service.caFile });
    await listed.pool.query("select nexus_private.enqueue_push($1, 'SIM_POD_READY', '{}')", [member.id]);
    const row = await eventually("the row to be settled", async () => {
      const { rows } = await listed.pool.query(
        "select failed_at is not null as failed, sent_at, attempts, last_error from public.notification_queue where user_id = $1",
        [member.id],
      );
      return rows[0]?.failed ? rows[0] : undefined;
    });
    expect(row).toEqual({
      failed: true,
      sent_at: null,
      attempts: 0,
      last_error: `not sent: the push service 127.0.0.1:${new URL(service.origin).port} is not on the allowed list (PUSH_ALLOWED_HOSTS)`,
    });
    expect(device.requests, "the push service was never contacted").toBe(0);
  }, 60_000);
});
