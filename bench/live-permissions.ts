/**
 * Live voice rights (issue #13): how fast a clearance change reaches LiveKit's RoomService.
 *
 *  A. lag: 1,000 rank changes, one committed after another, each demoting a different connected member below a
 *     net's tx gate; for each, the time from the commit returning to the UpdateParticipant call arriving at the
 *     RoomService (a Twirp endpoint on 127.0.0.1 that checks the SDK's JWT as LiveKit does). p50 and p99.
 *  B. wide: 1,000 members connected to one net whose tx gate is raised in one UPDATE; the time from its commit
 *     until every one of them has been updated (LiveKit answered).
 *  C. worker down: as many rank changes committed with no worker running (what each costs as the waiting jobs
 *     grow), then a new worker started: the time until it has applied them all.
 *
 * The worker is a separate process with production settings (`main.ts --worker`, WORKER_CONCURRENCY default).
 * Baseline in the same run: the bench process itself calls RoomServiceClient.updateParticipant right after each
 * commit (A), and for 1,000 participants 8 at a time (B): what the calls cost with no queue, no decision, no audit.
 * Loopback only, bounded in changes and seconds. `npm run bench -- live-permissions`.
 *
 * Goal: A's p99 <= 1 s, B done in <= 5 s, on 2 cores.
 */
import type { ChildProcess } from "node:child_process";
import os from "node:os";
import pg from "pg";
import { RoomServiceClient } from "livekit-server-sdk";
import { startCluster } from "../test/support/cluster.ts";
import { LIVEKIT_KEY, LIVEKIT_SECRET } from "../test/support/livekit.ts";
import { startRoomService, type RoomServiceRequest } from "../test/support/livekit-server.ts";
import { benchDatabase, measureCpu, startChild, stopChildren } from "./support/setup.ts";

const CHANGES = Number(process.env.BENCH_CHANGES ?? 1000);
const WIDE = Number(process.env.BENCH_WIDE ?? 1000);
/** Changes applied before timing, so every worker connection has planned its statements (a cold start is reported apart). */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 200);

let onTimeout: (() => Promise<void>) | undefined;

async function until(check: () => boolean | Promise<boolean>, seconds: number, what: string) {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) {
      await onTimeout?.();
      throw new Error(`${what} not reached within ${seconds} s`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function main() {
  const cluster = await startCluster();
  const livekit = await startRoomService();
  const children: ChildProcess[] = [];
  try {
    const url = await benchDatabase(cluster);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    // On a timeout, say what the queue holds: a failing job's error explains more than the timeout.
    onTimeout = async () => {
      const { rows } = await db.query(
        `select t.identifier, count(*)::int as jobs, count(*) filter (where j.locked_at is not null)::int as running, max(j.attempts) as attempts, max(j.last_error) as error
           from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id group by 1`,
      );
      console.error("queue:", rows);
      const audit = await db.query("select room_name, outcome, count(*)::int from nexus_private.voice_rights_log group by 1, 2 order by 1, 2");
      const changes = await db.query("select kind, count(*)::int from nexus_private.voice_rights_changes group by 1");
      console.error("audit:", audit.rows, "changes:", changes.rows, "calls seen:", arrivals.size);
    };

    // Members as the operators' CLI would make them, minus bcrypt (not what is measured).
    await db.query(`
      insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx) values
        ('Lag', 'lag-net', 'AFFILIATE', 'AFFILIATE', 'SCOUT'), ('Wide', 'wide-net', 'AFFILIATE', 'AFFILIATE', 'SCOUT'),
        ('Base', 'base-net', 'AFFILIATE', 'AFFILIATE', 'SCOUT'), ('Warm', 'warm-net', 'AFFILIATE', 'AFFILIATE', 'SCOUT')`);
    const people = async (prefix: string, n: number): Promise<string[]> => {
      const { rows } = await db.query<{ id: string }>(
        `with u as (insert into auth.users (email, password_hash)
                    select $1 || i || '@bench.invalid', 'x' from generate_series(1, $2) i returning id, email)
         insert into public.profiles (id, callsign, rank) select id, split_part(email, '@', 1), 'SCOUT' from u returning id`,
        [prefix, n],
      );
      return rows.map((r) => r.id);
    };
    // Connected as LiveKit reports it: a join webhook applied with the token's rights (may speak).
    const connect = async (room: string, ids: string[]) => {
      await db.query(
        `select nexus_private.apply_livekit_event(jsonb_build_object('id', 'EV_' || m, 'event', 'participant_joined', 'room', $1::text,
            'createdAt', extract(epoch from now()), 'participant', jsonb_build_object('identity', m, 'sid', 'PA_' || m,
            'permission', jsonb_build_object('canSubscribe', true, 'canPublish', true, 'canPublishData', true))))
           from unnest($2::uuid[]) m`,
        [room, ids],
      );
      for (const id of ids) livekit.join(room, id, `PA_${id}`, { canSubscribe: true, canPublish: true, canPublishData: true });
    };
    const lagMembers = await people("lag", CHANGES);
    const wideMembers = await people("wide", WIDE);
    const baseMembers = await people("base", Math.max(CHANGES, WIDE));
    const warmMembers = await people("warm", WARMUP);
    await connect("lag-net", lagMembers);
    await connect("wide-net", wideMembers);
    await connect("base-net", baseMembers);
    await connect("warm-net", warmMembers);

    const arrivals = new Map<string, number>();
    const answered = new Map<string, number>();
    livekit.onRequest = (r: RoomServiceRequest) => {
      if (r.method !== "UpdateParticipant" || !r.identity) return;
      const key = `${r.room}/${r.identity}`;
      if (!arrivals.has(key)) arrivals.set(key, performance.now());
    };

    // Baseline A: commit, then the call, from this process.
    const rooms = new RoomServiceClient(livekit.url, LIVEKIT_KEY, LIVEKIT_SECRET, { requestTimeout: 5, failover: false });
    const baseLags: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      await db.query("update public.profiles set rank = 'AFFILIATE' where id = $1", [baseMembers[i]]);
      const committed = performance.now();
      await rooms.updateParticipant("base-net", baseMembers[i]!, { permission: { canSubscribe: true, canPublish: false, canPublishData: false } });
      baseLags.push(arrivals.get(`base-net/${baseMembers[i]}`)! - committed);
    }
    // Baseline B: 1,000 calls, 8 at a time.
    const baseWideStart = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < WIDE) {
          const id = baseMembers[next++]!;
          await rooms.updateParticipant("base-net", id, { permission: { canSubscribe: true, canPublish: true, canPublishData: true } });
        }
      }),
    );
    const baseWideSeconds = (performance.now() - baseWideStart) / 1000;
    // The baseline's rank changes enqueued live rights jobs for base-net too; clear them before the worker starts.
    await db.query(
      "delete from graphile_worker._private_jobs j using graphile_worker._private_tasks t where t.id = j.task_id and t.identifier = 'voice_rights__apply'",
    );
    arrivals.clear();
    // A database in service has statistics on these tables (autovacuum analyzes them as they fill); one filled a
    // second ago has none, and the plans the worker's connections keep for the whole run would be made blind.
    await db.query("analyze");

    const env = {
      NODE_ENV: "production",
      DATABASE_URL: url,
      JWT_SECRET: "bench-secret-bench-secret-bench-secret-0123",
      LOG_LEVEL: "warn",
      LIVEKIT_URL: livekit.url.replace("http", "ws"),
      LIVEKIT_API_KEY: LIVEKIT_KEY,
      LIVEKIT_API_SECRET: LIVEKIT_SECRET,
    };
    const worker = startChild("main.ts", ["--worker"], env);
    children.push(worker);
    await until(async () => (await db.query("select count(*)::int as n from nexus_private.worker_heartbeats")).rows[0].n > 0, 60, "worker up");
    // Warm-up: the first changes find every worker connection cold (each plans its statements once).
    const warmStart = performance.now();
    for (const id of warmMembers) await db.query("update public.profiles set rank = 'AFFILIATE' where id = $1", [id]);
    const warmFirst = await (async () => {
      await until(() => warmMembers.every((id) => arrivals.has(`warm-net/${id}`)), 120, "warm-up applied");
      return arrivals.get(`warm-net/${warmMembers[0]}`)! - warmStart;
    })();

    // A: one change after another.
    const commits = new Map<string, number>();
    let issueSecondsA = 0;
    const cpuA = await measureCpu(url, "bench", [worker.pid!], async () => {
      const startA = performance.now();
      for (const id of lagMembers) {
        await db.query("update public.profiles set rank = 'AFFILIATE' where id = $1", [id]);
        commits.set(`lag-net/${id}`, performance.now());
      }
      issueSecondsA = (performance.now() - startA) / 1000;
      await until(() => lagMembers.every((id) => arrivals.has(`lag-net/${id}`)), 120, "every change applied");
    });
    const lags = lagMembers.map((id) => arrivals.get(`lag-net/${id}`)! - commits.get(`lag-net/${id}`)!).sort((a, b) => a - b);
    if (process.env.BENCH_DEBUG) {
      const { rows } = await db.query(
        `select round(extract(epoch from answered_at - changed_at) * 1000) as ms from nexus_private.voice_rights_log where room_name = 'lag-net' order by id limit 20`,
      );
      console.error("db lags ms:", rows.map((r) => r.ms).join(" "));
    }
    const jobsA = (await db.query("select count(distinct change_ids)::int as n from nexus_private.voice_rights_log where room_name = 'lag-net'")).rows[0].n;

    // B: one gate raised over 1,000 connected members.
    await db.query("update public.voice_nets set min_rank_to_tx = 'VOYAGER' where room_name = 'wide-net'");
    const committedB = performance.now();
    await until(
      () => wideMembers.every((id) => livekit.permissionOf("wide-net", id)?.canPublish === false),
      120,
      "every wide-net member updated",
    );
    const wideSeconds = (performance.now() - committedB) / 1000;
    for (const id of wideMembers) answered.set(id, arrivals.get(`wide-net/${id}`)!);
    const firstCall = Math.min(...answered.values()) - committedB;

    // C: the worker down while changes keep coming (a deploy, a crash), then a new one catching up. The baseline's
    // members lose base-net (VAGRANT is below its join gate): a removal each.
    await stopChildren([worker]);
    const downMembers = baseMembers.slice(0, CHANGES);
    let downSeconds = 0;
    const cpuDown = await measureCpu(url, "bench", [], async () => {
      const start = performance.now();
      for (const id of downMembers) await db.query("update public.profiles set rank = 'VAGRANT' where id = $1", [id]);
      downSeconds = (performance.now() - start) / 1000;
    });
    const catchUp = startChild("main.ts", ["--worker"], env);
    children.push(catchUp);
    const catchUpStart = performance.now();
    const cpuCatchUp = await measureCpu(url, "bench", [catchUp.pid!], () =>
      until(() => downMembers.every((id) => !livekit.participants.get("base-net")?.has(id)), 120, "every change made while the worker was down applied"),
    );
    // Answers are recorded when a job's calls are all back: wait for the last audit rows too.
    await until(
      async () => (await db.query("select count(*)::int as n from nexus_private.voice_rights_log where room_name = 'base-net' and outcome = 'removed'")).rows[0].n >= CHANGES,
      60,
      "every removal recorded",
    );
    const catchUpSeconds = (performance.now() - catchUpStart) / 1000;

    const updates = livekit.requests.filter((r) => r.method === "UpdateParticipant" && r.room !== "base-net" && r.status === 200);
    const duplicates = updates.length - new Set(updates.map((r) => `${r.room}/${r.identity}`)).size;
    const audit = (await db.query("select outcome, count(*)::int as n from nexus_private.voice_rights_log group by 1 order by 1")).rows;
    await db.end();

    const base = [...baseLags].sort((a, b) => a - b);
    console.log(`\nlive-permissions: ${CHANGES} changes, ${WIDE} members on one net, ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim()}), node ${process.version}`);
    console.log("| measure | baseline (direct call after commit) | live rights (trigger → job → RoomService) | ratio |");
    console.log("| --- | --- | --- | --- |");
    console.log(`| A: lag commit → UpdateParticipant, p50 | ${quantile(base, 0.5).toFixed(1)} ms | ${quantile(lags, 0.5).toFixed(1)} ms | ${(quantile(lags, 0.5) / quantile(base, 0.5)).toFixed(1)} x |`);
    console.log(`| A: lag, p99 | ${quantile(base, 0.99).toFixed(1)} ms | ${quantile(lags, 0.99).toFixed(1)} ms | ${(quantile(lags, 0.99) / quantile(base, 0.99)).toFixed(1)} x |`);
    console.log(`| A: lag, max | ${base[base.length - 1]!.toFixed(1)} ms | ${lags[lags.length - 1]!.toFixed(1)} ms | |`);
    console.log(`| B: ${WIDE} members updated after one gate change | ${baseWideSeconds.toFixed(2)} s | ${wideSeconds.toFixed(2)} s (first call after ${firstCall.toFixed(0)} ms) | ${(wideSeconds / baseWideSeconds).toFixed(1)} x |`);
    console.log(`cold start: the first of ${WARMUP} warm-up changes reached LiveKit after ${warmFirst.toFixed(0)} ms (not in the figures above)`);
    console.log(`A's ${CHANGES} changes were committed in ${issueSecondsA.toFixed(2)} s (${(CHANGES / issueSecondsA).toFixed(0)} changes/s), answered by ${jobsA} jobs`);
    console.log(
      `C: ${CHANGES} changes with the worker down, committed at ${(CHANGES / downSeconds).toFixed(0)}/s, Postgres ${((cpuDown.postgresCpu * 1e6) / CHANGES).toFixed(0)} µs per change; ` +
        `a new worker applied them ${catchUpSeconds.toFixed(2)} s after starting (Postgres ${((cpuCatchUp.postgresCpu * 1e6) / CHANGES).toFixed(0)} µs, worker ${((cpuCatchUp.processCpu * 1e6) / CHANGES).toFixed(0)} µs per change, its start included)`,
    );
    console.log(`A's CPU per change, commit to LiveKit's answer: Postgres ${((cpuA.postgresCpu * 1e6) / CHANGES).toFixed(0)} µs, worker ${((cpuA.processCpu * 1e6) / CHANGES).toFixed(0)} µs`);
    console.log(`UpdateParticipant calls applied twice: ${duplicates}; audit: ${audit.map((r) => `${r.outcome} ${r.n}`).join(", ")}`);
    const goal = quantile(lags, 0.99) <= 1000 && wideSeconds <= 5;
    console.log(`goal (p99 <= 1 s, ${WIDE} members <= 5 s): ${goal ? "met" : "NOT met"}`);
    if (duplicates > 0) process.exitCode = 1;
  } finally {
    await stopChildren(children);
    await livekit.close();
    cluster.stop();
  }
}

await main();
