/**
 * LiveKit webhook ingest: 20,000 signed events (joins and leaves across 50 rooms, LiveKit's own JSON) posted to
 * /livekit/webhook at concurrency 32. Measures events accepted per second over HTTP, and the time from the last
 * 200 until the worker (a separate process, as in production) has applied every one to voice_presence.
 * Baseline in the same run: bare node:http + WebhookReceiver + one INSERT (bench/support/webhook-baseline.ts).
 * Loopback only, bounded in events and seconds. `npm run bench -- webhook-ingest`.
 *
 * Goal (issue #4): >= 3,000 events/s accepted, all applied within 5 s after the last 200, on 2 cores.
 */
import type { ChildProcess } from "node:child_process";
import os from "node:os";
import pg from "pg";
import { startCluster } from "../test/support/cluster.ts";
import { LIVEKIT_ENV, liveKitBody, signWebhook } from "../test/support/livekit.ts";
import { runLoad } from "./support/load.ts";
import { freePort } from "../core/net.ts";
import { benchDatabase, startChild } from "./support/setup.ts";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const CONCURRENCY = 32;



async function until(check: () => Promise<boolean>, seconds: number, what: string) {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function main() {
  const cluster = await startCluster();
  const children: ChildProcess[] = [];
  try {
    const url = await benchDatabase(cluster);

    // 20,000 events: each participant joins, then (for every other one) leaves.
    const base = Math.floor(Date.now() / 1000) - 3600;
    const bodies: string[] = [];
    for (let i = 0; bodies.length < EVENTS; i++) {
      const p = { identity: `guest-${i}`, sid: `PA_${i}`, metadata: JSON.stringify({ rank: "SCOUT", callsign: `G${i}` }) };
      bodies.push(liveKitBody("participant_joined", `room-${i % 50}`, base + i, p, `EV_j${i}`));
      if (i % 2 === 0 && bodies.length < EVENTS) bodies.push(liveKitBody("participant_left", `room-${i % 50}`, base + i + 30, p, `EV_l${i}`));
    }
    const signed = await Promise.all(bodies.map(async (body) => ({ body, auth: await signWebhook(body, { ttl: "1h" }) })));
    const sessions = new Set(bodies.map((b) => JSON.parse(b).participant.sid)).size;

    const [nexusPort, basePort] = [await freePort(), await freePort()];
    const env = { NODE_ENV: "production", DATABASE_URL: url, JWT_SECRET: "bench-secret-bench-secret-bench-secret-0123", LOG_LEVEL: "warn", ...LIVEKIT_ENV };
    const server = startChild("main.ts", ["--server"], { ...env, PORT: String(nexusPort) });
    const baseline = startChild("bench/support/webhook-baseline.ts", [], { ...env, PORT: String(basePort) });
    children.push(server, baseline);
    for (const port of [nexusPort, basePort]) {
      await until(async () => fetch(`http://127.0.0.1:${port}/`).then(() => true, () => false), 60, `port ${port}`);
    }

    const load = (port: number, pathname: string, n: number, offset = 0) =>
      runLoad({
        url: `http://127.0.0.1:${port}${pathname}`,
        concurrency: CONCURRENCY,
        requests: n,
        maxSeconds: 60,
        request: (i) => ({ headers: { "content-type": "application/webhook+json", authorization: signed[(i + offset) % signed.length]!.auth }, body: signed[(i + offset) % signed.length]!.body }),
        ok: (status) => status === 200,
      });

    const baselineResult = await load(basePort, "/", EVENTS);

    // The worker starts with the burst, as a separate process with production settings.
    const worker = startChild("main.ts", ["--worker"], env);
    children.push(worker);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    const ingest = await load(nexusPort, "/livekit/webhook", EVENTS);
    const lastAccepted = performance.now();
    const applied = async () => (await db.query("select count(*)::int as n from public.voice_presence")).rows[0].n;
    const pending = async () =>
      (await db.query("select count(*)::int as n from graphile_worker.jobs where task_identifier = 'presence__apply_event'")).rows[0].n;
    await until(async () => (await pending()) === 0 && (await applied()) === sessions, 120, "all events applied");
    const applySeconds = (performance.now() - lastAccepted) / 1000;
    const open = (await db.query("select count(*)::int as n from public.voice_presence where left_at is null")).rows[0].n;
    await db.end();

    console.log(`\nwebhook-ingest: ${EVENTS} events, concurrency ${CONCURRENCY}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim()}), node ${process.version}`);
    console.log("| target | events | errors | accepted/s | p50 ms | p99 ms |");
    console.log("| --- | --- | --- | --- | --- | --- |");
    for (const [name, r] of [["baseline (node:http + WebhookReceiver + INSERT)", baselineResult], ["POST /livekit/webhook (verify + enqueue)", ingest]] as const) {
      console.log(`| ${name} | ${r.requests} | ${r.errors} | ${r.perSecond.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`);
    }
    console.log(`accept rate: ${(ingest.perSecond / baselineResult.perSecond).toFixed(2)} x baseline`);
    console.log(`all ${sessions} sessions applied ${applySeconds.toFixed(2)} s after the last 200 (${open} open, ${sessions - open} closed)`);
    if (ingest.errors > 0 || baselineResult.errors > 0) process.exitCode = 1;
  } finally {
    for (const child of children) child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    cluster.stop();
  }
}

await main();
