/**
 * LiveKit webhook ingest: signed events (joins and leaves across 50 rooms, LiveKit's own JSON) posted to
 * /livekit/webhook at concurrency 32 by wrk (its own process, bench/support/wrk.ts), for BENCH_SECONDS (default
 * 8). Measures events accepted per second over HTTP, and the time from the end of the load until the worker (a
 * separate process, as in production) has applied every accepted event to voice_presence. Then the same with two
 * server processes (two wrk processes of 16 connections, one per server, each with its own half of the events).
 * Baseline in the same run: bare node:http + WebhookReceiver + one INSERT (bench/support/webhook-baseline.ts).
 * Loopback only, bounded in events and seconds. `npm run bench -- webhook-ingest`.
 *
 * As in bench/voice-token.ts, the three targets are measured in rounds (BENCH_ROUNDS, default 3), the order
 * rotated each round, each round's ratio to that round's baseline; the verdict is the median round, with every
 * round printed (one step's rate moves by ±20 % from the next on a shared 2-core machine).
 *
 * BENCH_WORKER=paused stops the worker (SIGSTOP) while the load runs and lets it go (SIGCONT) when it ends: the
 * accept rate of servers whose worker runs on other cores, and how long the backlog then takes.
 *
 * Goal (issue #14): >= 0.9 x the baseline's accepted/s, every event applied <= 2 s after the last 200.
 */
import type { ChildProcess } from "node:child_process";
import os from "node:os";
import pg from "pg";
import { freePort } from "../core/net.ts";
import { BATCHED } from "../server/presence/enqueue.ts";
import { WEBHOOK_TASK } from "../server/presence/rest.ts";
import { startCluster } from "../test/support/cluster.ts";
import { LIVEKIT_ENV, liveKitBody, signWebhook } from "../test/support/livekit.ts";
import { benchDatabase, loadAverage, measureCpu, median, startChild, stopChildren, waitFor } from "./support/setup.ts";
import { runWrk, type WrkRequest, type WrkResult } from "./support/wrk.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
/** Events per run: more than the fastest target accepts in SECONDS, so none is sent twice. */
const EVENTS = Number(process.env.BENCH_EVENTS ?? 48_000);
const CONCURRENCY = 32;
const PAUSE_WORKER = process.env.BENCH_WORKER === "paused";

async function until(check: () => Promise<boolean>, seconds: number, what: string) {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `count` signed events for one run: each participant joins, then (every other one) leaves. */
async function events(run: string, count = EVENTS): Promise<WrkRequest[]> {
  const base = Math.floor(Date.now() / 1000) - 600;
  const bodies: string[] = [];
  for (let i = 0; bodies.length < count; i++) {
    const p = { identity: `guest-${run}-${i}`, sid: `PA_${run}_${i}`, metadata: JSON.stringify({ rank: "SCOUT", callsign: `G${i}` }) };
    bodies.push(liveKitBody("participant_joined", `room-${i % 50}`, base + (i % 300), p, `EV_${run}_j${i}`));
    if (i % 2 === 0 && bodies.length < count) bodies.push(liveKitBody("participant_left", `room-${i % 50}`, base + (i % 300) + 30, p, `EV_${run}_l${i}`));
  }
  const signed: WrkRequest[] = [];
  for (let i = 0; i < bodies.length; i += 2000) {
    const chunk = bodies.slice(i, i + 2000);
    const auths = await Promise.all(chunk.map((body) => signWebhook(body, { ttl: "1h" })));
    chunk.forEach((body, j) => signed.push({ body, authorization: auths[j]!, contentType: "application/webhook+json" }));
  }
  return signed;
}

interface Measured {
  name: string;
  round: number;
  result: WrkResult;
  /** Seconds from the end of the load until every accepted event was applied (null for the baseline). */
  applySeconds: number | null;
  sessions: number | null;
  serverCpuUs: number;
  postgresCpuUs: number;
}

async function main() {
  const cluster = await startCluster();
  const children: ChildProcess[] = [];
  try {
    const url = await benchDatabase(cluster);
    const [portA, portB, basePort] = [await freePort(), await freePort(), await freePort()];
    const env = { NODE_ENV: "production", DATABASE_URL: url, JWT_SECRET: "bench-secret-bench-secret-bench-secret-0123", LOG_LEVEL: "warn", ...LIVEKIT_ENV };
    const serverA = startChild("main.ts", ["--server"], { ...env, PORT: String(portA) });
    const serverB = startChild("main.ts", ["--server"], { ...env, PORT: String(portB) });
    const baseline = startChild("bench/support/webhook-baseline.ts", [], { ...env, PORT: String(basePort) });
    children.push(serverA, serverB, baseline);
    for (const [port, child] of [[portA, serverA], [portB, serverB], [basePort, baseline]] as const) {
      await waitFor(`http://127.0.0.1:${port}/`, {}, () => true, child, `port ${port}`);
    }
    // The worker applies as events arrive, as in production.
    const worker = startChild("main.ts", ["--worker"], env);
    children.push(worker);

    const db = new pg.Client({ connectionString: url });
    await db.connect();
    const pending = async () =>
      (await db.query("select count(*)::int as n from graphile_worker.jobs where task_identifier = any($1)", [[WEBHOOK_TASK, BATCHED[WEBHOOK_TASK]]])).rows[0].n;
    const sessionsOf = async (run: string) => (await db.query("select count(*)::int as n from public.voice_presence where participant_sid like $1", [`PA\\_${run}\\_%`])).rows[0].n;

    const load = { start: loadAverage(), end: "" };
    const results: Measured[] = [];
    const measure = async (name: string, run: string, targets: { port: number; path: string; child: ChildProcess }[], applies: boolean, round: number) => {
      const list = await events(`${run}${round}`);
      const per = Math.ceil(list.length / targets.length);
      // Warm-up on other events (JIT, pools, prepared statements) in the first round, then drain the queue.
      if (round === 1) {
        const warm = await events(`${run}w`, 4000);
        await Promise.all(targets.map((t) => runWrk({ url: `http://127.0.0.1:${t.port}${t.path}`, requests: warm, connections: 8, seconds: 2 })));
      }
      if (applies) await until(async () => (await pending()) === 0, 60, "earlier events applied");
      if (applies && PAUSE_WORKER) worker.kill("SIGSTOP");
      const { result, processCpu, postgresCpu } = await measureCpu(url, "bench", targets.map((t) => t.child.pid!), async () => {
        const each = await Promise.all(
          targets.map((t, i) =>
            runWrk({ url: `http://127.0.0.1:${t.port}${t.path}`, requests: list.slice(i * per, (i + 1) * per), connections: CONCURRENCY / targets.length, seconds: SECONDS }),
          ),
        );
        return {
          requests: each.reduce((n, r) => n + r.requests, 0),
          errors: each.reduce((n, r) => n + r.errors, 0),
          seconds: Math.max(...each.map((r) => r.seconds)),
          perSecond: each.reduce((n, r) => n + r.perSecond, 0),
          p50: Math.max(...each.map((r) => r.p50)),
          p90: Math.max(...each.map((r) => r.p90)),
          p99: Math.max(...each.map((r) => r.p99)),
        } satisfies WrkResult;
      });
      const ended = performance.now();
      if (applies && PAUSE_WORKER) worker.kill("SIGCONT");
      let applySeconds: number | null = null;
      let sessions: number | null = null;
      if (applies) {
        await until(async () => (await pending()) === 0, 120, "all events applied");
        applySeconds = (performance.now() - ended) / 1000;
        sessions = await sessionsOf(`${run}${round}`);
      }
      if (result.requests >= per) console.error(`${name}: all ${per} events of a wrk process were sent; raise BENCH_EVENTS`);
      results.push({ name, round, result, applySeconds, sessions, serverCpuUs: (processCpu / result.requests) * 1e6, postgresCpuUs: (postgresCpu / result.requests) * 1e6 });
    };

    const BASELINE = "baseline (node:http + WebhookReceiver + INSERT)";
    const steps: ((round: number) => Promise<void>)[] = [
      (round) => measure(BASELINE, "b", [{ port: basePort, path: "/", child: baseline }], false, round),
      (round) => measure("POST /livekit/webhook, 1 server", "one", [{ port: portA, path: "/livekit/webhook", child: serverA }], true, round),
      (round) =>
        measure("POST /livekit/webhook, 2 servers", "two", [
          { port: portA, path: "/livekit/webhook", child: serverA },
          { port: portB, path: "/livekit/webhook", child: serverB },
        ], true, round),
    ];
    for (let round = 1; round <= ROUNDS; round++) {
      const shift = (round - 1) % steps.length;
      for (const step of [...steps.slice(shift), ...steps.slice(0, shift)]) await step(round);
    }
    load.end = loadAverage();
    await db.end();

    console.log(`\nwebhook-ingest: concurrency ${CONCURRENCY}, wrk,${PAUSE_WORKER ? " worker paused during the load," : ""} ${SECONDS} s a step, ${ROUNDS} round(s), ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim()}), node ${process.version}, load ${load.start} -> ${load.end}`);
    console.log("| target | round | events | errors | accepted/s | p50 ms | p99 ms | all applied after the load | sessions | server CPU µs/event | Postgres CPU µs/event (incl. worker's) |");
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const m of results) {
      const r = m.result;
      console.log(
        `| ${m.name} | ${m.round} | ${r.requests} | ${r.errors} | ${r.perSecond.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${m.applySeconds === null ? "" : `${m.applySeconds.toFixed(2)} s`} | ${m.sessions ?? ""} | ${m.serverCpuUs.toFixed(0)} | ${m.postgresCpuUs.toFixed(0)} |`,
      );
    }
    const baseOf = (round: number) => results.find((m) => m.name === BASELINE && m.round === round)!.result.perSecond;
    for (const name of [...new Set(results.map((m) => m.name))].filter((n) => n !== BASELINE)) {
      const mine = results.filter((m) => m.name === name);
      const ratios = mine.map((m) => m.result.perSecond / baseOf(m.round));
      const slowest = Math.max(...mine.map((m) => m.applySeconds!));
      console.log(`${name}: ${median(ratios).toFixed(2)} x baseline (rounds ${ratios.map((x) => x.toFixed(2)).join(", ")}), every event applied at most ${slowest.toFixed(2)} s after its load ended`);
    }
    if (results.some((m) => m.result.errors > 0)) process.exitCode = 1;
  } finally {
    await stopChildren(children);
    cluster.stop();
  }
}

await main();
