/**
 * `npm run bench` (or `node bench/push-fanout.ts`): one rescue flare to 10,000 devices.
 *
 * Everything is real and on this machine: a throwaway PostgreSQL, the API server (in this process), the worker
 * as `node main.ts --worker` in its own process, and the local HTTPS push service (in this process) that
 * checks every VAPID header and decrypts every message (RFC 8291) with the device's private key.
 *
 * Measured: from sending the fireRescueFlare mutation to the push service decrypting the last of the 10,000
 * messages. Baseline, in the same run: bare web-push encryption of the same 10,000 messages in one loop
 * (webpush.encrypt: what any sender must at least do). Goal: ≤ 8 s, and a delivery rate ≥ 0.5 × the bare
 * encryption rate, on 2 cores.
 *
 * Also reported: CPU seconds spent during that window by the bench process (push service and API server), the
 * worker process(es), this run's Postgres, and the whole machine (anything above the sum is someone else's load:
 * the 2 cores are shared).
 *
 * Options (env): BENCH_DEVICES (10000), BENCH_WORKERS (worker processes, 1), PUSH_BATCH_SIZE, PUSH_FANOUT_PAGE_SIZE,
 * WORKER_CONCURRENCY (10), BENCH_WORKER_LOG (a file for the worker's log), BENCH_CPU_PROF (a directory for the
 * worker's V8 CPU profile).
 */
import "../core/env.ts";
import type { AddressInfo } from "node:net";
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import pg from "pg";
import webpush from "web-push";
import { createServer } from "../server/app.ts";
import { loadConfig } from "../core/config.ts";
import { migrate } from "../core/database/migrate.ts";
import { createPool } from "../core/database/pool.ts";
import { createLogger } from "../core/log.ts";
import { startCluster } from "../test/support/cluster.ts";
import { tokenFor } from "../test/support/members.ts";
import { startPushService } from "../test/support/push-service.ts";
import { TEST_JWT_SECRET } from "../test/support/server.ts";
import { spawnWorker } from "../test/support/processes.ts";

const DEVICES = Number(process.env.BENCH_DEVICES ?? 10_000);
/** Worker processes (`npm run start:worker`), as a deployment would run one per core. */
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);
const TICKS_PER_SECOND = 100; // Linux USER_HZ

/** CPU seconds the whole machine spent busy (all cores), from /proc/stat: ours and anyone else's. */
function machineBusySeconds(): number {
  const [, user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / TICKS_PER_SECOND;
}

/** CPU seconds used so far by the processes that match (pid, parent pid, command line), from /proc (Linux). */
function cpuSeconds(match: (pid: number, ppid: number, cmdline: string) => boolean): number {
  let ticks = 0;
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      if (!match(pid, Number(fields[1]), cmdline)) continue;
      // utime and stime of the process, plus those of its children that it has waited for (ended backends)
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / TICKS_PER_SECOND;
}
const DEADLINE_MS = 120_000;
const log = (line: string) => process.stdout.write(`${line}\n`);

async function main() {
  const cluster = await startCluster();
  const cleanup: Array<() => Promise<unknown>> = [];
  const deadline = setTimeout(() => {
    log("push-fanout: gave up after 120 s");
    process.exit(1);
  }, DEADLINE_MS + 60_000);
  try {
    const admin = new pg.Client({ connectionString: cluster.adminUrl() });
    await admin.connect();
    await admin.query("create database nexus_bench");
    await admin.end();
    const url = cluster.adminUrl("nexus_bench");
    await migrate(url);

    const vapid = webpush.generateVAPIDKeys();
    const vapidEnv = { NEXT_PUBLIC_VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey, VAPID_SUBJECT: "mailto:ops@nomadnexus.test" };
    const service = await startPushService({ vapidPublicKey: vapid.publicKey });
    cleanup.push(() => service.close());

    // The local push service is on 127.0.0.1: this database's sessions (the bulk insert below) must allow it.
    const allow = new pg.Client({ connectionString: cluster.adminUrl() });
    await allow.connect();
    await allow.query(`alter database nexus_bench set nexus.push_allowed_hosts = '${service.env.PUSH_ALLOWED_HOSTS}'`);
    await allow.end();

    // 10,000 members, one device each, plus the requester: written in bulk, as an import would.
    const pool = createPool(url, undefined, 10);
    cleanup.push(() => pool.end());
    const devices = Array.from({ length: DEVICES }, () => service.subscribe());
    const { rows: requesterRows } = await pool.query<{ id: string }>(
      "select nexus_private.create_user('requester@bench.test', 'password-123', 'Requester', 'SCOUT') as id",
    );
    const requesterId = requesterRows[0]!.id;
    await pool.query(
      `with u as (
         insert into auth.users (email, password_hash)
         select 'member' || n || '@bench.test', '$2a$04$benchbenchbenchbenchbeu5Pq1yQ2bqv7nqVbq3v0c1zr1kYJm2S' from generate_series(1, $1::int) n
         returning id, email)
       insert into public.profiles (id, callsign, rank) select id, 'member-' || split_part(split_part(email, '@', 1), 'r', 2), 'AFFILIATE' from u`,
      [DEVICES],
    );
    await pool.query(
      `insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
       select m.id, d.endpoint, d.p256dh, d.auth
         from (select id, row_number() over (order by id) as n from public.profiles where id <> $1) m
         join unnest($2::text[], $3::text[], $4::text[]) with ordinality as d(endpoint, p256dh, auth, n) on d.n = m.n`,
      [requesterId, devices.map((d) => d.endpoint), devices.map((d) => d.p256dh), devices.map((d) => d.auth)],
    );
    await pool.query("vacuum analyze");

    const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: "silent", ...vapidEnv, ...service.env });
    const server = await createServer({ config, pool, log: createLogger("silent") });
    cleanup.push(() => server.close());
    await new Promise<void>((resolve) => server.server.listen(0, "127.0.0.1", resolve));
    const baseUrl = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;

    // The production defaults unless overridden: 10 jobs at a time per worker process.
    const workerEnv: Record<string, string> = { ...vapidEnv, WORKER_CONCURRENCY: "10" };
    for (const name of ["PUSH_BATCH_SIZE", "PUSH_FANOUT_PAGE_SIZE", "WORKER_CONCURRENCY"]) {
      if (process.env[name]) workerEnv[name] = process.env[name]!;
    }
    // Its own process, trusting the push service's self-signed certificate through NODE_EXTRA_CA_CERTS.
    Object.assign(workerEnv, { DATABASE_URL: url, JWT_SECRET: TEST_JWT_SECRET, ...service.env });
    // BENCH_CPU_PROF=<dir>: a V8 CPU profile of each worker process, written there when it stops (as startChild does).
    if (process.env.BENCH_CPU_PROF) workerEnv.NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=${process.env.BENCH_CPU_PROF}`;
    const workers = [];
    for (let i = 0; i < WORKERS; i++) {
      const worker = await spawnWorker(workerEnv);
      cleanup.push(() => worker.kill("SIGTERM"));
      workers.push(worker);
    }
    const worker = workers[0]!;

    // Baseline: bare web-push encryption of the same 10,000 messages, one after another.
    const sample = JSON.stringify({
      type: "RESCUE_FLARE",
      flareId: "00000000-0000-4000-8000-000000000000",
      location: "Stanton III - Crusader",
      flareType: "MEDICAL",
      status: "OPEN",
      requesterId,
      requesterCallsign: "Requester",
      createdAt: new Date().toISOString(),
      tag: "flare-00000000-0000-4000-8000-000000000000",
      title: "Rescue flare: MEDICAL",
      body: "Requester needs medical help at Stanton III - Crusader",
    });
    const bareStart = performance.now();
    for (const d of devices) webpush.encrypt(d.p256dh, d.auth, sample, "aes128gcm");
    const bareMs = performance.now() - bareStart;

    // The flare.
    const token = await tokenFor(requesterId);
    const workerPids = new Set(workers.map((w) => w.child.pid!));
    // This run's PostgreSQL: its postmaster (started with our port) and the backends it forked.
    let postmaster = -1;
    cpuSeconds((pid, _ppid, cmd) => (cmd.includes(`-p ${cluster.port}`) && cmd.includes("/postgres ") ? ((postmaster = pid), false) : false));
    const isOurPostgres = (pid: number, ppid: number) => pid === postmaster || ppid === postmaster;
    const isWorker = (pid: number) => workerPids.has(pid);
    const cpuBefore = { bench: process.cpuUsage(), worker: cpuSeconds(isWorker), postgres: cpuSeconds(isOurPostgres), machine: machineBusySeconds() };
    const fireStart = performance.now();
    const res = await fetch(`${baseUrl}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query: `mutation { fireRescueFlare(input: { location: "Stanton III - Crusader", flareType: MEDICAL }) { rescueFlare { id } } }`,
      }),
    });
    const answer = (await res.json()) as any;
    const mutationMs = performance.now() - fireStart;
    const flareId: string = answer.data.fireRescueFlare.rescueFlare.id;
    const mine = () => service.deliveries.length;
    await service.waitFor(() => mine() >= DEVICES, DEADLINE_MS);
    const last = Math.max(...service.deliveries.map((d) => d.receivedAt));
    const first = Math.min(...service.deliveries.map((d) => d.receivedAt));
    const fanoutMs = last - fireStart;
    const benchCpu = process.cpuUsage(cpuBefore.bench);
    const cpu = {
      pushServiceAndApi: Number(((benchCpu.user + benchCpu.system) / 1e6).toFixed(2)),
      worker: Number((cpuSeconds(isWorker) - cpuBefore.worker).toFixed(2)),
      postgres: Number((cpuSeconds(isOurPostgres) - cpuBefore.postgres).toFixed(2)),
      machine: Number((machineBusySeconds() - cpuBefore.machine).toFixed(2)),
    };

    // Exactly once each, for this flare, and the queue agrees.
    const perDevice = new Map<string, number>();
    for (const d of service.deliveries) {
      if (d.payload.flareId !== flareId) throw new Error("a delivery for another flare");
      perDevice.set(d.subscriberId, (perDevice.get(d.subscriberId) ?? 0) + 1);
    }
    const once = [...perDevice.values()].filter((n) => n === 1).length;
    await new Promise((r) => setTimeout(r, 500));
    const { rows: queue } = await pool.query(
      "select count(*)::int as queued, count(sent_at)::int as sent from public.notification_queue where dedupe_key = $1",
      [`flare:${flareId}`],
    );

    const bareRate = DEVICES / (bareMs / 1000);
    const rate = DEVICES / (fanoutMs / 1000);
    const result = {
      devices: DEVICES,
      cpus: os.cpus().length,
      workers: WORKERS,
      workerConcurrency: Number(workerEnv.WORKER_CONCURRENCY),
      batchSize: Number(workerEnv.PUSH_BATCH_SIZE ?? 100),
      fanoutPageSize: Number(workerEnv.PUSH_FANOUT_PAGE_SIZE ?? 500),
      mutationMs: Math.round(mutationMs),
      firstDeliveryMs: Math.round(first - fireStart),
      lastDeliveryMs: Math.round(fanoutMs),
      deliveriesPerSecond: Math.round(rate),
      bareEncryptMs: Math.round(bareMs),
      bareEncryptionsPerSecond: Math.round(bareRate),
      ratioToBare: Number((rate / bareRate).toFixed(2)),
      deliveredExactlyOnce: once,
      rejectedByPushService: service.rejected.length,
      vapidJwtsSeen: service.vapidTokens.size,
      cpuSeconds: cpu,
      queueRows: queue[0].queued,
      queueSent: queue[0].sent,
    };
    log(`push-fanout: ${JSON.stringify(result)}`);
    log(
      `push-fanout: one flare to ${DEVICES} devices: last decrypted delivery ${(fanoutMs / 1000).toFixed(2)} s after the mutation ` +
        `(${Math.round(rate)}/s); bare web-push encryption ${(bareMs / 1000).toFixed(2)} s (${Math.round(bareRate)}/s); ratio ${result.ratioToBare}`,
    );
    const ok = once === DEVICES && service.rejected.length === 0 && queue[0].sent === DEVICES;
    const goals = fanoutMs <= 8000 && rate / bareRate >= 0.5;
    if (process.env.BENCH_WORKER_LOG) (await import("node:fs")).writeFileSync(process.env.BENCH_WORKER_LOG, worker.output());
    log(`push-fanout: correctness ${ok ? "ok" : "FAILED"}; goal (≤ 8 s, ≥ 0.5 × bare) ${goals ? "met" : "not met"}`);
    if (!ok) process.exitCode = 1;
  } finally {
    clearTimeout(deadline);
    for (const fn of cleanup.reverse()) await fn().catch(() => {});
    cluster.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
