import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIVEKIT_ENV, liveKitBody, postWebhook, signWebhook } from "../support/livekit.ts";
import { createMember } from "../support/members.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

/** The HTTP edge as operators and frontends meet it: methods, unknown paths, CORS on the webhook, /metrics. */
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ env: { ...LIVEKIT_ENV, CORS_ORIGINS: "https://nexus.example" } });
  await t.pool.query(`insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
                      values ('Test room', 'test-room', 'VAGRANT', 'VAGRANT', 'SCOUT')`);
});
afterAll(async () => t?.close());

async function metrics(): Promise<string> {
  const res = await fetch(`${t.baseUrl}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of one sample line, e.g. sample(text, 'nexus_notifications_pending{type="RESCUE_FLARE"}'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("methods and paths", () => {
  it("answers another method than POST on a runbook route with 405 and Allow: POST", async () => {
    for (const method of ["GET", "PUT", "DELETE", "PATCH"]) {
      const res = await fetch(`${t.baseUrl}/functions/v1/livekit-token`, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("POST, OPTIONS");
      expect(await res.json()).toEqual({ error: "METHOD_NOT_ALLOWED", message: `/functions/v1/livekit-token answers POST, not ${method}` });
    }
  });

  it("answers another method than POST on /graphql with 405 METHOD_NOT_ALLOWED, like the REST routes", async () => {
    for (const method of ["GET", "PUT"]) {
      const res = await fetch(`${t.baseUrl}/graphql?query=%7B__typename%7D`, { method, headers: { accept: "application/json" } });
      expect(res.status, method).toBe(405);
      const body = (await res.json()) as { errors: { message: string; extensions?: { code?: string } }[] };
      expect(body.errors.map((e) => e.extensions?.code), method).toEqual(["METHOD_NOT_ALLOWED"]);
    }
  });

  it("answers unknown paths and undecodable URLs with the JSON error body, not an HTML page", async () => {
    const missing = await fetch(`${t.baseUrl}/no/such/thing`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "NOT_FOUND", message: "no route GET /no/such/thing" });
    const webhookGet = await fetch(`${t.baseUrl}/livekit/webhook`);
    expect(webhookGet.status).toBe(404);
    expect((await webhookGet.json()).error).toBe("NOT_FOUND");
    const opsAsset = await fetch(`${t.baseUrl}/ops/does-not-exist.js`);
    expect(opsAsset.status).toBe(404);
    expect(await opsAsset.json()).toEqual({ error: "NOT_FOUND", message: "no route GET /ops/does-not-exist.js" });
  });

  it("sends no CORS headers with the webhook shim's answers (LiveKit calls it server to server)", async () => {
    const body = liveKitBody("room_started" as never, "test-room", Math.floor(Date.now() / 1000));
    const res = await fetch(`${t.baseUrl}/functions/v1/livekit-webhook`, {
      method: "POST",
      headers: { origin: "https://nexus.example", "content-type": "application/webhook+json", authorization: await signWebhook(body) },
      body,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("GET /metrics", () => {
  it("has a latency histogram per route template, never per raw URL", async () => {
    const scout = await createMember(t.pool, "SCOUT");
    const unmatchedBefore = sample(await metrics(), 'nexus_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}') ?? 0;
    const post = (path: string, body: string) =>
      fetch(`${t.baseUrl}${path}`, { method: "POST", headers: { authorization: `Bearer ${scout.token}`, "content-type": "application/json" }, body });
    expect((await post("/functions/v1/livekit-token", JSON.stringify({ roomName: "test-room" }))).status).toBe(200);
    expect((await post("/functions/v1/livekit-token", "{broken")).status).toBe(400);
    expect((await post("/graphql", JSON.stringify({ query: "{ __typename }" }))).status).toBe(200);
    expect((await postWebhook(t.baseUrl, "{}")).status).toBe(401);
    for (let i = 0; i < 5; i++) await fetch(`${t.baseUrl}/scan-${i}-${Math.random()}`);

    const text = await metrics();
    expect(text).toContain("# TYPE nexus_http_request_duration_seconds histogram");
    const count = (labels: string) => sample(text, `nexus_http_request_duration_seconds_count{${labels}}`);
    expect(count('method="POST",route="/functions/v1/livekit-token",status="200"')).toBe(1);
    expect(count('method="GET",route="/metrics",status="200"')).toBeGreaterThanOrEqual(1);
    expect(count('method="POST",route="/functions/v1/livekit-token",status="400"')).toBe(1);
    expect(count('method="POST",route="/graphql",status="200"')).toBe(1);
    expect(count('method="POST",route="/livekit/webhook",status="401"')).toBe(1);
    expect(count('method="GET",route="unmatched",status="404"')).toBe(unmatchedBefore + 5);
    expect(text).not.toMatch(/route="\/scan-/);
    expect(text).toMatch(/nexus_http_request_duration_seconds_bucket\{le="0\.005",method="POST",route="\/functions\/v1\/livekit-token",status="200"\} \d/);
  });

  it("reports notifications pending now, and sent and failed in the last 24 hours, per type", async () => {
    const members = await Promise.all([createMember(t.pool, "SCOUT"), createMember(t.pool, "VOYAGER")]);
    for (const [i, m] of members.entries()) {
      for (let d = 0; d < 2; d++) {
        await t.pool.query("insert into public.push_subscriptions (user_id, endpoint, p256dh, auth) values ($1, $2, $3, $4)", [
          m.id,
          `https://fcm.googleapis.com/fcm/send/${i}-${d}`,
          "BB352rV3H-rXRiQi64a0BzoCh9jM8m6j9y0Fq6nwGY8esbybTMQ8w7s977cnOT7ULnI8gVjvCvHiiHXhpm2KPYs",
          "cQki06ubNJnY7UnPlCN1hA",
        ]);
      }
    }
    // Queued as the capabilities queue them (one row per device), then some delivered and some failed.
    for (const m of members) await t.pool.query("select nexus_private.enqueue_push($1, 'RESCUE_FLARE', '{}')", [m.id]);
    await t.pool.query("select nexus_private.enqueue_push($1, 'SIM_POD_READY', '{}')", [members[0]!.id]);
    await t.pool.query(
      `update public.notification_queue set sent_at = now() where id in (select id from public.notification_queue where type = 'RESCUE_FLARE' order by id limit 1)`,
    );
    await t.pool.query(
      `update public.notification_queue set failed_at = now(), last_error = 'gone' where id in (select id from public.notification_queue where type = 'RESCUE_FLARE' order by id desc limit 1)`,
    );
    await t.pool.query(`update public.notification_queue set created_at = now() - interval '90 seconds' where type = 'SIM_POD_READY'`);

    const text = await metrics();
    expect(sample(text, 'nexus_notifications_pending{type="RESCUE_FLARE"}')).toBe(2);
    expect(sample(text, 'nexus_notifications_sent{type="RESCUE_FLARE"}')).toBe(1);
    expect(sample(text, 'nexus_notifications_failed{type="RESCUE_FLARE"}')).toBe(1);
    expect(sample(text, 'nexus_notifications_pending{type="SIM_POD_READY"}')).toBe(2);
    expect(sample(text, 'nexus_notifications_sent{type="SIM_POD_READY"}')).toBeUndefined();
    expect(sample(text, 'nexus_notifications_oldest_pending_seconds{type="SIM_POD_READY"}')).toBeGreaterThanOrEqual(90);
    // The rest of DESIGN §7 and the issue: queue depth and failed jobs per task, presence open and stale.
    expect(text).toMatch(/^nexus_job_queue_depth\{task="push__deliver",state="queued"\} \d+/m);
    expect(text).toContain("# TYPE nexus_job_dead_letters gauge");
    expect(text).toMatch(/^nexus_presence_open \d+/m);
    expect(text).toMatch(/^nexus_presence_stale \d+/m);
  });
});

describe("emergency disable (docs/operations.md, phase 8.3)", () => {
  it("revoking a capability's function from members turns its route into 403 for everyone, and a grant restores it", async () => {
    const scout = await createMember(t.pool, "SCOUT");
    const ask = () =>
      fetch(`${t.baseUrl}/functions/v1/livekit-token`, {
        method: "POST",
        headers: { authorization: `Bearer ${scout.token}`, "content-type": "application/json" },
        body: JSON.stringify({ roomName: "test-room" }),
      });
    await t.pool.query("revoke execute on function public.issue_voice_grants(text[]) from authenticated");
    try {
      const refused = await ask();
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ error: "INSUFFICIENT_CLEARANCE" });
    } finally {
      await t.pool.query("grant execute on function public.issue_voice_grants(text[]) to authenticated");
    }
    expect((await ask()).status).toBe(200);
  });
});

// Last: its refusals would count in the latency histogram test above.
describe("REST bodies", () => {
  const post = (route: string, body: string, token?: string) =>
    fetch(`${t.baseUrl}/functions/v1/${route}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    });

  it("refuses JSON that is not an object with a message that says so, and text that is not JSON as such", async () => {
    for (const body of ["null", '"str"', "42", "true", "[]", '[{"roomName":"test-room"}]']) {
      const res = await post("livekit-token", body);
      expect(res.status, body).toBe(400);
      expect(await res.json(), body).toEqual({ error: "BAD_REQUEST", message: "the body must be a JSON object" });
    }
    const res = await post("livekit-token", "{not json");
    expect(await res.json()).toEqual({ error: "BAD_REQUEST", message: "body is not valid JSON" });
  });

  it("says the same on /auth/v1 (supabase-js's routes), in GoTrue's error shape", async () => {
    for (const path of ["/auth/v1/signup", "/auth/v1/token?grant_type=password", "/auth/v1/token?grant_type=refresh_token"]) {
      for (const body of ["null", "42", '"str"', "[]"]) {
        const res = await fetch(`${t.baseUrl}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });
        expect(res.status, `${path} ${body}`).toBe(400);
        expect(((await res.json()) as { msg: string }).msg, `${path} ${body}`).toBe("the body must be a JSON object");
      }
      const broken = await fetch(`${t.baseUrl}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
      expect(broken.status).toBe(400);
      expect(((await broken.json()) as { msg: string }).msg).toBe("body is not valid JSON");
    }
  });

  it("names a missing or mistyped field in plain words", async () => {
    const member = await createMember(t.pool, "SCOUT");
    const cases: [string, unknown, string][] = [
      ["notifications-subscribe", { endpoint: "https://fcm.googleapis.com/fcm/send/x", p256dh: "k" }, "auth is required (a string)"],
      ["notifications-subscribe", { endpoint: "https://fcm.googleapis.com/fcm/send/x", p256dh: "k", auth: 5 }, "auth must be a string"],
      ["academy-request", {}, "skillId is required (a string)"],
      ["academy-request", { skillId: "not-a-uuid" }, "skillId must be a UUID"],
      ["academy-join", { simPodId: "   " }, "simPodId must not be empty"],
      ["academy-join", { simPodId: "x".repeat(65) }, "simPodId must be at most 64 characters"],
      ["net-bridge", { sourceNetId: crypto.randomUUID(), targetNetId: crypto.randomUUID(), action: "merge" }, 'action must be one of "link", "unlink"'],
      ["livekit-token", {}, "give roomName (or netId)"],
    ];
    for (const [route, body, message] of cases) {
      const res = await post(route, JSON.stringify(body), member.token);
      expect(res.status, message).toBe(400);
      expect(await res.json(), message).toEqual({ error: "BAD_REQUEST", message });
    }
  });
});
