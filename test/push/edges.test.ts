import { execFileSync } from "node:child_process";
import { createECDH, randomBytes } from "node:crypto";
import path from "node:path";
import webpush from "web-push";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../core/database/migrate.ts";
import { VapidHeaderCache } from "../../core/push/vapid.ts";
import { createMember } from "../support/members.ts";
import { browserDevice } from "../support/push-devices.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

/** The push and flare edges without a worker: GraphQL and the runbook's REST routes over the same SQL. */
const vapid = webpush.generateVAPIDKeys();
let t: TestServer;
let unconfigured: TestServer;

beforeAll(async () => {
  [t, unconfigured] = await Promise.all([
    startTestServer({
      env: { NEXT_PUBLIC_VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey, FLARE_MAX_PER_HOUR: "2" },
    }),
    startTestServer(),
  ]);
});
afterAll(async () => Promise.all([t?.close(), unconfigured?.close()]));

const device = browserDevice;

const SUBSCRIBE = `mutation($input: SubscribePushInput!) { subscribePush(input: $input) { pushSubscription { id endpoint } } }`;
const UNSUBSCRIBE = `mutation($input: UnsubscribePushInput!) { unsubscribePush(input: $input) { unsubscribed } }`;
const MY_DEVICES = `{ pushSubscriptions { nodes { endpoint userId } } }`;
const FIRE = `mutation($input: FireRescueFlareInput!) { fireRescueFlare(input: $input) { rescueFlare { id status flareType location } } }`;

describe("GET /push/vapid-public-key", () => {
  it("serves the public key the browser subscribes with, to the frontend's origin", async () => {
    const res = await fetch(`${t.baseUrl}/push/vapid-public-key`, { headers: { origin: "http://localhost:5173" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(await res.json()).toEqual({ publicKey: vapid.publicKey });
    const elsewhere = await fetch(`${t.baseUrl}/push/vapid-public-key`, { headers: { origin: "https://evil.example" } });
    expect(elsewhere.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("is PUSH_NOT_CONFIGURED (503) without a VAPID pair", async () => {
    const res = await fetch(`${unconfigured.baseUrl}/push/vapid-public-key`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: "PUSH_NOT_CONFIGURED" });
  });
});

describe("npm run vapid:generate", () => {
  it("prints a matching VAPID pair that web-push can sign with", () => {
    const out = execFileSync(process.execPath, [path.join(ROOT, "scripts/vapid-generate.ts")], { encoding: "utf8" });
    const publicKey = /^NEXT_PUBLIC_VAPID_PUBLIC_KEY=([A-Za-z0-9_-]+)$/m.exec(out)![1]!;
    const privateKey = /^VAPID_PRIVATE_KEY=([A-Za-z0-9_-]+)$/m.exec(out)![1]!;
    const ecdh = createECDH("prime256v1");
    ecdh.setPrivateKey(Buffer.from(privateKey, "base64url"));
    expect(ecdh.getPublicKey().toString("base64url")).toBe(publicKey);
    expect(webpush.getVapidHeaders("https://fcm.googleapis.com", "mailto:a@b.test", publicKey, privateKey, "aes128gcm").Authorization).toMatch(
      /^vapid t=.+, k=/,
    );
  });
});

describe("subscribing a device", () => {
  it("REST notifications-subscribe answers {success:true} and stores the device for the caller", async () => {
    const m = await createMember(t.pool, "VAGRANT");
    const d = device();
    expect(await t.rest("notifications-subscribe", { endpoint: d.endpoint, auth: d.auth, p256dh: d.p256dh }, m.token)).toEqual({
      status: 200,
      body: { success: true },
    });
    const mine = await t.graphql(MY_DEVICES, {}, m.token);
    expect(mine.body.data.pushSubscriptions.nodes).toEqual([{ endpoint: d.endpoint, userId: m.id }]);
  });

  it("accepts the browser's PushSubscription JSON as it is ({endpoint, keys: {p256dh, auth}})", async () => {
    const m = await createMember(t.pool, "SCOUT");
    const d = device("updates.push.services.mozilla.com");
    const res = await t.rest("notifications-subscribe", { endpoint: d.endpoint, expirationTime: null, keys: { p256dh: d.p256dh, auth: d.auth } }, m.token);
    expect(res).toEqual({ status: 200, body: { success: true } });
  });

  it("refuses bad keys with 400 BAD_REQUEST naming the field, and stores nothing", async () => {
    const m = await createMember(t.pool, "SCOUT");
    const d = device();
    const runbookPlaceholders = await t.rest("notifications-subscribe", { endpoint: d.endpoint, auth: "auth-string-here", p256dh: "p256dh-key-here" }, m.token);
    expect(runbookPlaceholders.status).toBe(400);
    expect(runbookPlaceholders.body).toEqual({ error: "BAD_REQUEST", message: expect.stringMatching(/^p256dh/) });
    const shortAuth = await t.rest("notifications-subscribe", { ...d, auth: randomBytes(8).toString("base64url") }, m.token);
    expect(shortAuth.body).toEqual({ error: "BAD_REQUEST", message: expect.stringMatching(/^auth must be/) });
    const plainHttp = await t.rest("notifications-subscribe", { ...d, endpoint: "http://push.example.org/x" }, m.token);
    expect(plainHttp.body).toEqual({ error: "BAD_REQUEST", message: expect.stringMatching(/^endpoint must be/) });
    const missing = await t.rest("notifications-subscribe", { endpoint: d.endpoint }, m.token);
    expect(missing.status).toBe(400);
    const { rows } = await t.pool.query("select count(*)::int as n from public.push_subscriptions where user_id = $1", [m.id]);
    expect(rows[0].n).toBe(0);
  });

  it("requires a signed-in member", async () => {
    const d = device();
    expect((await t.rest("notifications-subscribe", d)).status).toBe(401);
    const anon = await t.graphql(SUBSCRIBE, { input: d });
    expect(anon.body.errors?.[0].extensions.code).toBe("UNAUTHENTICATED");
  });

  it("subscribePush and unsubscribePush in GraphQL; re-subscribing an endpoint moves it to the new member", async () => {
    const [a, b] = await Promise.all([createMember(t.pool, "SCOUT"), createMember(t.pool, "VOYAGER")]);
    const d = device();
    const first = await t.graphql(SUBSCRIBE, { input: d }, a.token);
    expect(first.body.data.subscribePush.pushSubscription.endpoint).toBe(d.endpoint);
    const bad = await t.graphql(SUBSCRIBE, { input: { ...d, p256dh: d.p256dh.slice(0, -4) } }, a.token);
    expect(bad.body.errors?.[0].extensions.code).toBe("BAD_REQUEST");

    await t.graphql(SUBSCRIBE, { input: d }, b.token);
    expect((await t.graphql(MY_DEVICES, {}, a.token)).body.data.pushSubscriptions.nodes).toEqual([]);
    expect((await t.graphql(MY_DEVICES, {}, b.token)).body.data.pushSubscriptions.nodes).toEqual([{ endpoint: d.endpoint, userId: b.id }]);

    expect((await t.graphql(UNSUBSCRIBE, { input: { endpoint: d.endpoint } }, a.token)).body.data.unsubscribePush.unsubscribed).toBe(false);
    expect((await t.graphql(UNSUBSCRIBE, { input: { endpoint: d.endpoint } }, b.token)).body.data.unsubscribePush.unsubscribed).toBe(true);
    expect((await t.graphql(MY_DEVICES, {}, b.token)).body.data.pushSubscriptions.nodes).toEqual([]);
  });

  it("never exposes a device's keys through GraphQL", async () => {
    const res = await t.graphql(`{ pushSubscriptions { nodes { p256dh auth } } }`, {}, (await createMember(t.pool, "SCOUT")).token);
    expect(res.body.errors?.[0].message).toMatch(/Cannot query field "p256dh"/);
  });
});

describe("firing a rescue flare", () => {
  it("REST handle-rescue-request answers {flareId, status}; the flare type is case-insensitive", async () => {
    const m = await createMember(t.pool, "SCOUT");
    const res = await t.rest("handle-rescue-request", { location: "Stanton III - Crusader", flareType: "medical" }, m.token);
    expect(res).toEqual({ status: 200, body: { flareId: expect.stringMatching(/^[0-9a-f-]{36}$/), status: "OPEN" } });
    const { rows } = await t.pool.query("select flare_type, requester_id from public.rescue_flares where id = $1", [res.body.flareId]);
    expect(rows[0]).toEqual({ flare_type: "MEDICAL", requester_id: m.id });
  });

  it("refuses VAGRANT and AFFILIATE with 403 INSUFFICIENT_CLEARANCE, an unknown type with 400, a second flare with 409", async () => {
    for (const rank of ["VAGRANT", "AFFILIATE"] as const) {
      const m = await createMember(t.pool, rank);
      const res = await t.rest("handle-rescue-request", { location: "Hurston", flareType: "MEDICAL" }, m.token);
      expect(res.status).toBe(403);
      expect(res.body.error).toBe("INSUFFICIENT_CLEARANCE");
      const gql = await t.graphql(FIRE, { input: { location: "Hurston", flareType: "MEDICAL" } }, m.token);
      expect(gql.body.errors?.[0].extensions.code).toBe("INSUFFICIENT_CLEARANCE");
    }
    const scout = await createMember(t.pool, "SCOUT");
    const unknown = await t.rest("handle-rescue-request", { location: "Hurston", flareType: "PIZZA" }, scout.token);
    expect(unknown).toMatchObject({ status: 400, body: { error: "BAD_REQUEST" } });
    expect((await t.rest("handle-rescue-request", { location: "Hurston", flareType: "Fuel" }, scout.token)).status).toBe(200);
    const second = await t.rest("handle-rescue-request", { location: "Hurston", flareType: "FUEL" }, scout.token);
    expect(second).toMatchObject({ status: 409, body: { error: "CONFLICT" } });
  });

  it("holds FLARE_MAX_PER_HOUR from the server's configuration (2 here): the third in an hour is 429", async () => {
    const m = await createMember(t.pool, "VOYAGER");
    for (let i = 0; i < 2; i++) {
      const fired = await t.graphql(FIRE, { input: { location: `Yela ${i}`, flareType: "REPAIR" } }, m.token);
      const id = fired.body.data.fireRescueFlare.rescueFlare.id;
      const cancelled = await t.graphql(
        `mutation($input: CancelRescueFlareInput!) { cancelRescueFlare(input: $input) { rescueFlare { status } } }`,
        { input: { flareId: id } },
        m.token,
      );
      expect(cancelled.body.data.cancelRescueFlare.rescueFlare.status).toBe("CANCELLED");
    }
    const third = await t.rest("handle-rescue-request", { location: "Yela 2", flareType: "REPAIR" }, m.token);
    expect(third.status).toBe(429);
    expect(third.body).toEqual({ error: "RATE_LIMITED", message: expect.stringMatching(/^at most 2 rescue flares per hour/) });
  });

  it("lets another member answer, and only the requester resolve", async () => {
    const [requester, responder, bystander] = await Promise.all([
      createMember(t.pool, "FOUNDER"),
      createMember(t.pool, "AFFILIATE"),
      createMember(t.pool, "PIONEER"),
    ]);
    const fired = await t.graphql(FIRE, { input: { location: "Aberdeen", flareType: "COMBAT" } }, requester.token);
    const flareId = fired.body.data.fireRescueFlare.rescueFlare.id;
    const ack = `mutation($input: AcknowledgeRescueFlareInput!) { acknowledgeRescueFlare(input: $input) { rescueFlare { status responder { callsign } } } }`;
    const resolve = `mutation($input: ResolveRescueFlareInput!) { resolveRescueFlare(input: $input) { rescueFlare { status } } }`;

    expect((await t.graphql(ack, { input: { flareId } }, requester.token)).body.errors?.[0].extensions.code).toBe("CONFLICT");
    const answered = await t.graphql(ack, { input: { flareId } }, responder.token);
    expect(answered.body.data.acknowledgeRescueFlare.rescueFlare).toEqual({ status: "ACKNOWLEDGED", responder: { callsign: responder.callsign } });
    expect((await t.graphql(ack, { input: { flareId } }, bystander.token)).body.errors?.[0].extensions.code).toBe("CONFLICT");
    expect((await t.graphql(resolve, { input: { flareId } }, bystander.token)).body.errors?.[0].extensions.code).toBe("INSUFFICIENT_CLEARANCE");
    expect((await t.graphql(resolve, { input: { flareId } }, requester.token)).body.data.resolveRescueFlare.rescueFlare.status).toBe("RESOLVED");

    const open = await t.graphql(`{ rescueFlares(condition: { id: "${flareId}" }) { nodes { status requester { callsign } } } }`, {}, bystander.token);
    expect(open.body.data.rescueFlares.nodes).toEqual([{ status: "RESOLVED", requester: { callsign: requester.callsign } }]);
  });
});

describe("/metrics", () => {
  it("shows pending and failed notifications by type", async () => {
    const m = await createMember(t.pool, "SCOUT");
    const d = device();
    await t.rest("notifications-subscribe", d, m.token);
    await t.pool.query("select nexus_private.enqueue_push($1, 'SIM_POD_READY', '{}')", [m.id]);
    await t.pool.query("select nexus_private.enqueue_push($1, 'METRICS_PROBE', '{}')", [m.id]);
    await t.pool.query("update public.notification_queue set failed_at = now(), last_error = 'HTTP 413' where type = 'METRICS_PROBE'");
    const text = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(text).toMatch(/^nexus_notifications_pending\{type="SIM_POD_READY"\} 1$/m);
    expect(text).toMatch(/^nexus_notifications_failed\{type="METRICS_PROBE"\} 1$/m);
    expect(text).toMatch(/^nexus_notifications_oldest_pending_seconds\{type="SIM_POD_READY"\} \d/m);
  });
});

describe("VAPID headers", () => {
  it("are signed once per push service and reused for hours, then renewed before they expire", () => {
    const cache = new VapidHeaderCache({ subject: "mailto:ops@nomadnexus.test", ...vapid });
    const now = Math.floor(Date.now() / 1000);
    const first = cache.authorizationFor("https://fcm.googleapis.com/fcm/send/a", now);
    for (let i = 0; i < 10_000; i++) expect(cache.authorizationFor(`https://fcm.googleapis.com/fcm/send/${i}`, now + i)).toBe(first);
    expect(cache.signed).toBe(1);
    const mozilla = cache.authorizationFor("https://updates.push.services.mozilla.com/wpush/v2/x", now);
    expect(mozilla).not.toBe(first);
    expect(cache.signed).toBe(2);
    const jwt = JSON.parse(Buffer.from(first.split(" ")[1]!.slice(2, -1).split(".")[1]!, "base64url").toString());
    expect(jwt).toEqual({ aud: "https://fcm.googleapis.com", exp: now + 12 * 3600, sub: "mailto:ops@nomadnexus.test" });
    expect(cache.authorizationFor("https://fcm.googleapis.com/x", now + 11.5 * 3600)).not.toBe(first);
    expect(cache.signed).toBe(3);
  });
});
