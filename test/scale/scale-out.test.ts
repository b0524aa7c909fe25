/**
 * Scale-out: two API servers and two workers, each its own OS process, on one Postgres, as a deployment behind a
 * load balancer runs them (DESIGN.md §1: servers stateless, workers claim jobs with SKIP LOCKED). Nothing here
 * talks to one process only: whatever one server or worker knows, the other must know through the database.
 *
 *   - a shuffled burst of webhooks, with redeliveries, split across both servers, ends in exactly the right mirror;
 *   - one flare to 1,000 devices reaches each exactly once, with the worker fanning it out SIGKILLed midway;
 *   - the LiveKit token bucket and the flare limits hold across both servers;
 *   - a voicePresenceChanged subscriber on one server sees events that arrived through the other.
 */
import { createClient, type Client } from "graphql-ws";
import pg from "pg";
import webpush from "web-push";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPool } from "../../core/database/pool.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { eventually } from "../support/eventually.ts";
import { graphql as graphqlAt, rest as restAt } from "../support/http.ts";
import { LIVEKIT_ENV, liveKitBody, postWebhook, signWebhook } from "../support/livekit.ts";
import { createMember, tokenFor, type Member } from "../support/members.ts";
import { spawnServer, spawnWorker, type ServerProcess, type WorkerProcess } from "../support/processes.ts";
import { PUSH_SERVICE_ALLOWED_HOSTS, startPushService, type PushService, type Subscriber } from "../support/push-service.ts";
import { TEST_JWT_SECRET } from "../support/server.ts";
import { BATCHED } from "../../server/presence/enqueue.ts";
import { WEBHOOK_TASK } from "../../server/presence/rest.ts";

const vapid = webpush.generateVAPIDKeys();
const FLARE_MAX_PER_HOUR = 3;
const TOKEN_BURST = 10;

let db: TestDatabase;
let pool: pg.Pool;
let service: PushService;
let servers: ServerProcess[] = [];
let workers: WorkerProcess[] = [];
const clients: Client[] = [];

const common = () => ({
  ...LIVEKIT_ENV,
  DATABASE_URL: db.url,
  JWT_SECRET: TEST_JWT_SECRET,
  NEXT_PUBLIC_VAPID_PUBLIC_KEY: vapid.publicKey,
  VAPID_PRIVATE_KEY: vapid.privateKey,
  VAPID_SUBJECT: "mailto:ops@nomadnexus.test",
  LOG_LEVEL: "info",
});
// Workers trust the local push service's certificate the way production trusts FCM's (see test/push/delivery);
// a killed one counts as dead after 2 s. Production mode, as deployed: no process migrates at start-up (the
// database is migrated already), so processes starting together do not race to re-apply db/functions.
const workerEnv = () => ({
  ...common(),
  NODE_ENV: "production",
  ...service.env,
  PUSH_FANOUT_PAGE_SIZE: "100",
  PUSH_BATCH_SIZE: "25",
  WORKER_CONCURRENCY: "4",
  WORKER_DEAD_AFTER_SECONDS: "2",
});

beforeAll(async () => {
  db = await createTestDatabase();
  pool = createPool(db.url, undefined, 4);
  service = await startPushService({ vapidPublicKey: vapid.publicKey });
  const serverEnv = {
    ...common(),
    ...service.env,
    FLARE_MAX_PER_HOUR: String(FLARE_MAX_PER_HOUR),
    LIVEKIT_TOKEN_BURST: String(TOKEN_BURST),
    LIVEKIT_TOKENS_PER_MINUTE: "1",
  };
  [servers, workers] = await Promise.all([
    Promise.all([spawnServer(serverEnv), spawnServer(serverEnv)]),
    Promise.all([spawnWorker(workerEnv()), spawnWorker(workerEnv())]),
  ]);
}, 150_000);

afterAll(async () => {
  for (const c of clients) c.terminate();
  await Promise.all([...servers, ...workers].map((p) => p.kill("SIGTERM")));
  await pool?.end();
  await db?.drop();
  await service?.close();
});

/** A seeded shuffle, so a failing order can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  const random = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function inParallel<T, R>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!, i);
      }
    }),
  );
  return results;
}

const jobsLeft = async (...tasks: string[]) =>
  (await pool.query<{ n: number }>("select count(*)::int as n from graphile_worker.jobs where task_identifier = any($1)", [tasks])).rows[0]!.n;

const rest = (server: ServerProcess, name: string, body: unknown, token: string) => restAt(server.baseUrl, name, body, token);
const graphql = (server: ServerProcess, query: string, variables: Record<string, unknown>, token: string) => graphqlAt(server.baseUrl, query, variables, token);

describe("two servers and two workers on one Postgres", () => {
  it("a shuffled burst of webhooks with redeliveries, split across both servers, ends in exactly the right mirror", async () => {
    const base = Math.floor(Date.now() / 1000) - 600;
    interface Session {
      room: string;
      sid: string;
      identity: string;
      joinedAt: number;
      leftAt: number | null;
    }
    const sessions: Session[] = Array.from({ length: 300 }, (_, i) => ({
      room: `scale-room-${i % 12}`,
      sid: `PA_scale_${i}`,
      identity: `guest-scale-${i}`,
      joinedAt: base + i,
      leftAt: i % 3 === 0 ? null : base + i + 40,
    }));
    const events = sessions.flatMap((s) => {
      const p = { identity: s.identity, sid: s.sid, metadata: JSON.stringify({ rank: "SCOUT", callsign: s.identity }) };
      const join = liveKitBody("participant_joined", s.room, s.joinedAt, p, `EV_scale_j_${s.sid}`);
      return s.leftAt === null ? [join] : [join, liveKitBody("participant_left", s.room, s.leftAt, p, `EV_scale_l_${s.sid}`)];
    });
    // Every fourth event is delivered twice, the second time through the other server; then all in random order.
    const deliveries = shuffled(
      events.flatMap((body, i) => (i % 4 === 0 ? [{ body, server: i % 2 }, { body, server: (i + 1) % 2 }] : [{ body, server: i % 2 }])),
      20261201,
    );
    const statuses = await inParallel(deliveries, 16, async ({ body, server }) => (await postWebhook(servers[server]!.baseUrl, body, await signWebhook(body))).status);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(new Set(deliveries.map((d) => d.server))).toEqual(new Set([0, 1]));

    await eventually("every webhook job applied", async () => ((await jobsLeft(WEBHOOK_TASK, BATCHED[WEBHOOK_TASK]!)) === 0 ? true : undefined), { timeoutMs: 40_000, intervalMs: 100 });
    const { rows } = await pool.query<{ room_name: string; participant_sid: string; participant_identity: string; joined: number; left: number | null }>(
      `select room_name, participant_sid, participant_identity, extract(epoch from joined_at)::int as joined, extract(epoch from left_at)::int as left
         from public.voice_presence where participant_sid like 'PA\\_scale\\_%' order by participant_sid`,
    );
    const expected = sessions
      .map((s) => ({ room_name: s.room, participant_sid: s.sid, participant_identity: s.identity, joined: s.joinedAt, left: s.leftAt }))
      .sort((a, b) => (a.participant_sid < b.participant_sid ? -1 : 1));
    expect(rows).toEqual(expected);
    // (A job that failed would still be in the queue: none is, so every batch applied on its first attempt or a retry.)
  }, 60_000);

  it("one flare to 1,000 devices reaches each exactly once, with the worker fanning it out SIGKILLed midway", async () => {
    const requester = await createMember(pool, "SCOUT");
    const devices: Subscriber[] = Array.from({ length: 1000 }, () => service.subscribe({ kind: "accept" }));
    // 1,000 members with one device each, the operators' way (plain SQL), in one statement; the push service's
    // host is on the session's allowed list, as an operator would set it for theirs.
    const operator = await pool.connect();
    await operator.query("begin");
    await operator.query("select set_config('nexus.push_allowed_hosts', $1, true)", [PUSH_SERVICE_ALLOWED_HOSTS]);
    await operator.query(
      `with d as (select * from unnest($1::text[], $2::text[], $3::text[]) with ordinality as d(endpoint, p256dh, auth, n)),
            u as (insert into auth.users (email, password_hash)
                  select 'scale-' || n || '@members.test', 'not-a-login' from d returning id, email),
            p as (insert into public.profiles (id, callsign, rank)
                  select id, 'Scale-' || split_part(split_part(email, '@', 1), '-', 2), 'SCOUT' from u returning id, callsign)
       insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
       select p.id, d.endpoint, d.p256dh, d.auth from p join d on p.callsign = 'Scale-' || d.n`,
      [devices.map((d) => d.endpoint), devices.map((d) => d.p256dh), devices.map((d) => d.auth)],
    );
    await operator.query("commit");
    operator.release();

    // Hold the fan-out at its second page (a row lock on the 101st device, as a slow page would), so the kill
    // lands in the middle of it, after the first page's deliveries are all sent and recorded: no push is in
    // flight in the killed process.
    const { rows: ordered } = await pool.query<{ id: string }>("select id from public.push_subscriptions where user_id <> $1 order by id", [requester.id]);
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    await blocker.query("begin");
    await blocker.query("select 1 from public.push_subscriptions where id = $1 for update", [ordered[150]!.id]);

    const fired = await rest(servers[0]!, "handle-rescue-request", { location: "Port Olisar, pad 4", flareType: "MEDICAL" }, requester.token);
    expect(fired).toEqual({ status: 200, body: { flareId: expect.any(String), status: "OPEN" } });
    const flareId: string = fired.body.flareId;
    const key = `flare:${flareId}`;

    const holder = await eventually(
      "the first page delivered and the fan-out waiting on the second",
      async () => {
        const { rows } = await pool.query<{ queued: number; pending: number; blocked: number; pid: number | null }>(
          `select (select count(*)::int from public.notification_queue where dedupe_key = $1) as queued,
                  (select count(*)::int from public.notification_queue where dedupe_key = $1 and sent_at is null and failed_at is null) as pending,
                  (select count(*)::int from pg_stat_activity where wait_event_type = 'Lock' and query like '%fan_out_flare%') as blocked,
                  (select h.pid from graphile_worker.jobs j
                     join nexus_private.worker_heartbeats h on h.worker_id = j.locked_by
                    where j.task_identifier = 'push__fanout'
                    limit 1) as pid`,
          [key],
        );
        const r = rows[0]!;
        return r.queued === 100 && r.pending === 0 && r.blocked === 1 && r.pid ? r.pid : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    const victim = workers.find((w) => w.child.pid === holder);
    expect(victim, "the fan-out is held by one of our two workers").toBeDefined();
    await victim!.kill("SIGKILL");
    await blocker.query("rollback");
    await blocker.end();
    // Its supervisor restarts it; the restarted worker takes the dead one's jobs back once it counts as dead.
    workers = [...workers.filter((w) => w !== victim), await spawnWorker(workerEnv())];

    const mine = (device: Subscriber) => service.deliveriesFor(device.id).filter((d) => d.payload.flareId === flareId && d.payload.type === "RESCUE_FLARE");
    await service.waitFor(() => devices.every((d) => mine(d).length > 0), 40_000);
    await eventually(
      "every delivery recorded",
      async () => {
        const { rows } = await pool.query<{ sent: number }>("select count(sent_at)::int as sent from public.notification_queue where dedupe_key = $1", [key]);
        return rows[0]!.sent === 1000 && (await jobsLeft("push__deliver")) === 0 && (await jobsLeft("push__fanout")) === 0 ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    const counts = devices.map((d) => mine(d).length);
    expect(counts.filter((n) => n !== 1)).toEqual([]);
    expect(service.rejected).toEqual([]);
  }, 90_000);

  it("the token bucket and the flare limits hold across both servers", async () => {
    await pool.query(`insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
                      values ('Scale net', 'scale-net', 'VAGRANT', 'VAGRANT', 'VAGRANT')`);
    const member = await createMember(pool, "SCOUT");
    // Three times the burst at once, alternately to each server, over REST and GraphQL: exactly the burst is issued.
    const asks = Array.from({ length: TOKEN_BURST * 3 }, (_, i) => i);
    const answers = await inParallel(asks, 12, async (i) => {
      const server = servers[i % 2]!;
      if (i % 3 === 0) {
        const res = await graphql(server, `mutation { issueVoiceToken(input: { roomName: "scale-net" }) { token } }`, {}, member.token);
        return res.body.errors?.[0]?.extensions?.code ?? ((res.body.data as any)?.issueVoiceToken?.token ? "OK" : "?");
      }
      const res = await rest(server, "livekit-token", { roomName: "scale-net" }, member.token);
      return res.status === 200 ? "OK" : res.body.error;
    });
    expect(answers.filter((a) => a === "OK")).toHaveLength(TOKEN_BURST);
    expect(answers.filter((a) => a !== "OK").every((a) => a === "RATE_LIMITED")).toBe(true);

    // One OPEN flare per requester: two fired at once through the two servers, one wins.
    const scout = await createMember(pool, "SCOUT");
    const fire = (server: ServerProcess) => rest(server, "handle-rescue-request", { location: "Everus Harbor", flareType: "FUEL" }, scout.token);
    const pair = await Promise.all([fire(servers[0]!), fire(servers[1]!)]);
    expect(pair.map((r) => r.status).sort()).toEqual([200, 409]);
    // FLARE_MAX_PER_HOUR per requester, counted across both: resolve and fire again, alternating servers.
    const resolve = async (server: ServerProcess, flareId: string) => {
      const res = await graphql(server, `mutation($id: UUID!) { resolveRescueFlare(input: { flareId: $id }) { rescueFlare { status } } }`, { id: flareId }, scout.token);
      expect(res.body.errors).toBeUndefined();
      expect((res.body.data as any).resolveRescueFlare.rescueFlare.status).toBe("RESOLVED");
    };
    let open = pair.find((r) => r.status === 200)!.body.flareId as string;
    for (let i = 1; i < FLARE_MAX_PER_HOUR; i++) {
      await resolve(servers[i % 2]!, open);
      const next = await fire(servers[(i + 1) % 2]!);
      expect(next.status).toBe(200);
      open = next.body.flareId;
    }
    await resolve(servers[0]!, open);
    for (const server of servers) {
      const refused = await fire(server);
      expect(refused.status).toBe(429);
      expect(refused.body.error).toBe("RATE_LIMITED");
    }
  }, 60_000);

  it("a voicePresenceChanged subscriber on one server sees events that arrived through the other", async () => {
    const member = await createMember(pool, "SCOUT");
    const netId = (
      await pool.query("insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx) values ('Relay', 'relay-net', 'SCOUT', 'SCOUT', 'SCOUT') returning id")
    ).rows[0].id;
    const client = createClient({ url: `${servers[0]!.baseUrl.replace("http", "ws")}/graphql`, connectionParams: { authorization: `Bearer ${member.token}` }, lazy: true });
    clients.push(client);
    const seen: { event: string; identity: string; leftAt: string | null }[] = [];
    const errors: unknown[] = [];
    client.subscribe(
      {
        query: `subscription($net: UUID!) { voicePresenceChanged(netId: $net) { event voicePresence { participantIdentity leftAt } } }`,
        variables: { net: netId },
      },
      {
        next: (v) => {
          if (v.errors) errors.push(...v.errors);
          const e = (v.data as any)?.voicePresenceChanged;
          if (e) seen.push({ event: e.event, identity: e.voicePresence?.participantIdentity, leftAt: e.voicePresence?.leftAt ?? null });
        },
        error: (e) => errors.push(e),
        complete: () => {},
      },
    );
    const now = Math.floor(Date.now() / 1000);
    const send = async (kind: "participant_joined" | "participant_left", identity: string, sid: string, at: number) => {
      const body = liveKitBody(kind, "relay-net", at, { identity, sid });
      expect((await postWebhook(servers[1]!.baseUrl, body, await signWebhook(body))).status).toBe(200);
    };
    // The subscription is live once a probe sent through the other server comes back (the server starts
    // listening asynchronously after the subscribe message): send probes until one does.
    let probes = 0;
    await eventually(
      "a probe event through server B seen by the subscriber on server A",
      async () => {
        probes++;
        await send("participant_joined", `probe-${probes}`, `PA_probe_${probes}`, now - 100 + probes);
        return seen.some((e) => e.identity.startsWith("probe-")) ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 300 },
    );
    await send("participant_joined", member.id, "PA_relay_1", now);
    await eventually("the join", async () => (seen.some((e) => e.identity === member.id && e.event === "JOINED") ? true : undefined), { intervalMs: 50 });
    await send("participant_left", member.id, "PA_relay_1", now + 5);
    await eventually("the leave", async () => (seen.some((e) => e.identity === member.id && e.event === "LEFT" && e.leftAt !== null) ? true : undefined), { intervalMs: 50 });
    expect(errors).toEqual([]);
    // A member who may not join the net subscribes on server B and sees nothing of it.
    const outsider = await tokenFor((await createMember(pool, "VAGRANT")).id);
    const other = createClient({ url: `${servers[1]!.baseUrl.replace("http", "ws")}/graphql`, connectionParams: { authorization: `Bearer ${outsider}` }, lazy: true });
    clients.push(other);
    const refused = await new Promise<any>((resolve) => {
      other.subscribe(
        { query: `subscription($net: UUID!) { voicePresenceChanged(netId: $net) { event } }`, variables: { net: netId } },
        { next: (v) => resolve(v.errors?.[0] ?? v.data), error: (e) => resolve(e), complete: () => resolve("complete") },
      );
    });
    expect(refused).toMatchObject({ extensions: { code: "INSUFFICIENT_CLEARANCE" } });
  }, 60_000);
});
