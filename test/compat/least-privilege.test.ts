/**
 * The deployment as DESIGN.md and docs/HARDENING.md describe it (issue 11, finding 7): migrations ran as the
 * schema owner; `npm run start:server` and `npm run start:worker` run as separate production processes whose
 * DATABASE_URL logs in as `nexus_authenticator` (neither superuser nor owner); `npm start` does the same in one
 * process. The runbook's flow then works end to end: tokens, a signed webhook into presence (applied by the
 * worker as nexus_worker), a rescue flare delivered to a phone, the academy, /ops and its job queue, /metrics and
 * the crontab. A webhook that cannot be queued is an error-level log line and a 5xx, so LiveKit sends it again.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { createClient } from "@supabase/supabase-js";
import pg from "pg";
import webpush from "web-push";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allowAuthenticatorLogin, authenticatorUrl, createTestDatabase, type TestDatabase } from "../support/db.ts";
import { eventually, until } from "../support/eventually.ts";
import { graphql, rest } from "../support/http.ts";
import { liveKitBody, signWebhook } from "../support/livekit.ts";
import { createMember, type Member } from "../support/members.ts";
import { startNexusProcess, type NexusProcess } from "../support/nexus-process.ts";
import { spawnWorker, type WorkerProcess } from "../support/processes.ts";
import { startPushService, type PushService } from "../support/push-service.ts";
import { TEST_JWT_SECRET } from "../support/server.ts";
import { ROOT } from "../../core/database/migrate.ts";
import { signJwt } from "../../core/jwt.ts";
import { freePort } from "../../core/net.ts";

const LIVEKIT_KEY = "APIleastprivilege";
const LIVEKIT_SECRET = "least-privilege-livekit-secret-0123456789";
const vapid = webpush.generateVAPIDKeys();

let db: TestDatabase;
let owner: pg.Pool;
const ownerErrors: Error[] = [];
let service: PushService;
let server: NexusProcess;
let worker: WorkerProcess;
let env: Record<string, string>;
const members = {} as Record<"SCOUT" | "VOYAGER" | "FOUNDER" | "PIONEER", Member>;

beforeAll(async () => {
  db = await createTestDatabase();
  owner = new pg.Pool({ connectionString: db.url, max: 2 });
  // An idle client may see its backend ended by the forced drop of the test database (57P01); anything else fails.
  owner.on("error", (error) => {
    if ((error as { code?: string }).code !== "57P01") ownerErrors.push(error);
  });
  service = await startPushService({ vapidPublicKey: vapid.publicKey });
  env = {
    NODE_ENV: "production",
    DATABASE_URL: authenticatorUrl(db.url),
    DATABASE_OWNER_URL: db.url,
    JWT_SECRET: TEST_JWT_SECRET,
    LIVEKIT_URL: `wss://127.0.0.1:${await freePort()}`,
    LIVEKIT_API_KEY: LIVEKIT_KEY,
    LIVEKIT_API_SECRET: LIVEKIT_SECRET,
    NEXT_PUBLIC_VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    VAPID_SUBJECT: "mailto:admin@nomadnexus.com",
    PUSH_ALLOWED_HOSTS: "127.0.0.1:*",
    NODE_EXTRA_CA_CERTS: service.caFile,
    PRESENCE_MAX_OPEN_HOURS: "100000",
  };
  const cli = allowAuthenticatorLogin(db.url, { JWT_SECRET: TEST_JWT_SECRET });
  expect(cli.stderr).toBe("");
  expect(cli.stdout).toMatch(/nexus_authenticator may log in/);
  const { rows } = await owner.query("select rolsuper, rolbypassrls from pg_roles where rolname = 'nexus_authenticator'");
  expect(rows[0]).toEqual({ rolsuper: false, rolbypassrls: false });
  [server, worker] = await Promise.all([startNexusProcess(env, ["--server"]), spawnWorker(env)]);
  for (const rank of ["SCOUT", "VOYAGER", "FOUNDER", "PIONEER"] as const) members[rank] = await createMember(owner, rank);
}, 120_000);

afterAll(async () => {
  if (process.env.NEXUS_DEBUG_OUTPUT) {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(`${process.env.NEXUS_DEBUG_OUTPUT}.server`, server?.output() ?? "");
    writeFileSync(`${process.env.NEXUS_DEBUG_OUTPUT}.worker`, worker?.output() ?? "");
  }
  await worker?.kill("SIGTERM");
  await server?.stop();
  await service?.close();
  await owner?.end();
  await db?.drop();
  expect(ownerErrors).toEqual([]);
});

const curl = (name: string, token: string, body: unknown) => rest(server.baseUrl, name, body, token);
const gql = (query: string, token?: string) => graphql(server.baseUrl, query, {}, token);

async function sendWebhook(body: string) {
  return fetch(`${server.baseUrl}/livekit/webhook`, {
    method: "POST",
    headers: { "content-type": "application/webhook+json", authorization: await signWebhook(body, { key: LIVEKIT_KEY, secret: LIVEKIT_SECRET }) },
    body,
  });
}

describe("server and worker logging in as nexus_authenticator (production, separate processes)", () => {
  it("both processes' sessions log in as nexus_authenticator", async () => {
    const { rows } = await owner.query(
      "select distinct usename::text as login from pg_stat_activity where datname = current_database() and usename <> current_user",
    );
    expect(rows.map((r) => r.login)).toEqual(["nexus_authenticator"]);
  });

  it("tokens: authenticate, then livekit-token and issueVoiceToken", async () => {
    await owner.query(`insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
                       values ('Test room', 'test-room', 'VAGRANT', 'VAGRANT', 'SCOUT')`);
    const signedIn = await gql(`mutation { authenticate(input: { email: "${members.SCOUT.callsign}@members.test", password: "password-123" }) { jwtToken } }`);
    expect(signedIn.body.errors).toBeUndefined();
    const jwt = signedIn.body.data.authenticate.jwtToken as string;
    const token = await curl("livekit-token", jwt, { roomName: "test-room", participantName: "Scout1" });
    expect(token.status).toBe(200);
    expect(token.body).toMatchObject({ token: expect.stringMatching(/^ey/), serverUrl: env.LIVEKIT_URL, canPublish: true });
    const issued = await gql(`mutation { issueVoiceToken(input: { roomName: "test-room" }) { token canPublish } }`, jwt);
    expect(issued.body.errors).toBeUndefined();
  });

  it("accounts: supabase-js signs up, in, refreshes and changes the password; an operator revokes the sessions", async () => {
    const anonKey = await signJwt(TEST_JWT_SECRET, { role: "anon" }, 3600);
    const options = { auth: { persistSession: false, autoRefreshToken: false } };
    const supabase = createClient(server.baseUrl, anonKey, options);
    const signUp = await supabase.auth.signUp({ email: "least@nexus.test", password: "least-password-1", options: { data: { callsign: "Least" } } });
    expect(signUp.error).toBeNull();
    const other = createClient(server.baseUrl, anonKey, options);
    expect((await other.auth.signInWithPassword({ email: "least@nexus.test", password: "wrong-password" })).error).toMatchObject({ status: 400 });
    expect((await other.auth.signInWithPassword({ email: "least@nexus.test", password: "least-password-1" })).error).toBeNull();
    expect((await supabase.auth.refreshSession()).error).toBeNull();
    expect((await supabase.auth.getUser()).data.user?.user_metadata).toEqual({ callsign: "Least", rank: "VAGRANT" });
    expect((await supabase.auth.updateUser({ password: "least-password-2" })).error).toBeNull();
    expect((await other.auth.refreshSession()).error).toMatchObject({ status: 400 });
    const revoke = spawnSync(process.execPath, [path.join(ROOT, "cli/nexus.ts"), "user", "revoke", "--email", "least@nexus.test"], {
      env: { PATH: process.env.PATH, DATABASE_URL: env.DATABASE_URL, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: "silent" },
      encoding: "utf8",
    });
    expect(revoke.stderr).toBe("");
    expect(revoke.stdout).toBe("1 session revoked\n");
    expect((await supabase.auth.refreshSession()).error).toMatchObject({ status: 400 });
  });

  it("a signed webhook is queued by the server and applied into presence by the worker", async () => {
    const scout = members.SCOUT;
    const body = liveKitBody("participant_joined", "test-room", Math.floor(Date.now() / 1000), {
      identity: scout.id,
      sid: "PA_least",
      name: scout.callsign,
      metadata: JSON.stringify({ userId: scout.id, rank: "SCOUT", callsign: scout.callsign }),
    });
    const res = await sendWebhook(body);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ received: true, enqueued: true });
    const row = await eventually("the presence row", async () => {
      const { rows } = await owner.query("select user_id, left_at from public.voice_presence where participant_sid = 'PA_least'");
      return rows[0];
    });
    expect(row).toEqual({ user_id: scout.id, left_at: null });
  });

  it("a rescue flare reaches another member's phone", async () => {
    const device = service.subscribe();
    const subscribed = await curl("notifications-subscribe", members.VOYAGER.token, { endpoint: device.endpoint, auth: device.auth, p256dh: device.p256dh });
    expect(subscribed).toEqual({ status: 200, body: { success: true } });
    const fired = await curl("handle-rescue-request", members.SCOUT.token, { location: "Stanton III - Crusader", flareType: "MEDICAL" });
    expect(fired.status).toBe(200);
    await service.waitFor(() => service.deliveriesFor(device.id).length === 1, 30_000);
    expect(service.deliveriesFor(device.id)[0]!.payload).toMatchObject({ type: "RESCUE_FLARE", flareId: fired.body.flareId });
  }, 60_000);

  it("the academy: a cadet requests, a certified mentor accepts and gets the sim pod's token", async () => {
    const [skill] = (await owner.query(`insert into public.skills (name) values ('Medical triage') returning id`)).rows;
    await owner.query("insert into public.mentor_certifications (user_id, skill_id) values ($1, $2)", [members.PIONEER.id, skill.id]);
    const requested = await curl("academy-request", members.SCOUT.token, { skillId: skill.id });
    expect(requested.status).toBe(200);
    const accepted = await curl("academy-accept", members.PIONEER.token, { requestId: requested.body.requestId });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ simPodId: expect.stringMatching(/^sim-pod-/), connectionTokens: [expect.objectContaining({ token: expect.any(String) })] });
  });

  it("/ops and its job queue, the crontab, and /metrics", async () => {
    const page = await fetch(`${server.baseUrl}/ops`);
    expect(page.status).toBe(200);
    const stats = await gql("{ jobQueueStats { nodes { taskIdentifier queued failed } } cronSchedule { nodes { identifier lastExecution } } }", members.FOUNDER.token);
    expect(stats.body.errors).toBeUndefined();
    // The worker registered the crontab (as nexus_worker) when it started.
    expect(stats.body.data.cronSchedule.nodes.map((n: { identifier: string }) => n.identifier)).toEqual(expect.arrayContaining(["presence__sweep_stale"]));
    const metrics = await fetch(`${server.baseUrl}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/^nexus_presence_open \d+/m);
    expect(text).toMatch(/^nexus_job_queue_/m);
    expect(server.output()).not.toMatch(/"level":50/);
  });

  it("production start-up warns once that METRICS_TOKEN is unset", () => {
    expect(server.output().match(/METRICS_TOKEN is not set/g)).toHaveLength(1);
  });

  it("a webhook that cannot be queued is logged at error level and answered 5xx, so LiveKit retries it", async () => {
    await owner.query("revoke execute on function nexus_private.enqueue_livekit_webhooks(json) from nexus_authenticator");
    try {
      const body = liveKitBody("participant_left", "test-room", Math.floor(Date.now() / 1000), { identity: members.SCOUT.id, sid: "PA_least" });
      const res = await sendWebhook(body);
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(await res.json()).toMatchObject({ error: "INTERNAL" });
      await until("the error log line", () => /"level":50[^\n]*webhook could not be enqueued/.test(server.output()));
    } finally {
      await owner.query("grant execute on function nexus_private.enqueue_livekit_webhooks(json) to nexus_authenticator");
    }
  });
});

describe("npm start (server and worker in one process) as nexus_authenticator", () => {
  it("issues tokens and applies webhooks into presence", async () => {
    const both = await startNexusProcess(env);
    try {
      expect((await rest(both.baseUrl, "livekit-token", { roomName: "test-room" }, members.VOYAGER.token)).status).toBe(200);
      const body = liveKitBody("participant_joined", "test-room", Math.floor(Date.now() / 1000), { identity: members.VOYAGER.id, sid: "PA_both" });
      const hook = await fetch(`${both.baseUrl}/livekit/webhook`, {
        method: "POST",
        headers: { "content-type": "application/webhook+json", authorization: await signWebhook(body, { key: LIVEKIT_KEY, secret: LIVEKIT_SECRET }) },
        body,
      });
      expect(hook.status).toBe(200);
      await eventually("the presence row", async () => {
        const { rows } = await owner.query("select 1 from public.voice_presence where participant_sid = 'PA_both'");
        return rows[0];
      });
    } finally {
      await both.stop();
    }
  }, 90_000);
});
