/**
 * Cost growth of token issuance: REST livekit-token at concurrency 32 (wrk, bench/support/wrk.ts) on organisations
 * of 1,000, 10,000 and 100,000 members (10 nets), and of 10, 100, 1,000 and 10,000 nets (1,000 members). Every
 * member has a token bucket row already (the table at its full size); 64 members spread over the whole
 * membership ask for 64 nets spread over all nets, round-robin. Each organisation is its own database on one
 * throwaway cluster with its own server process (NODE_ENV=production), measured in turn, twice, in alternating
 * order; tokens/s and Postgres CPU per token are compared with the smallest organisation of the same sweep.
 * `npm run bench -- voice-token-scale`; BENCH_SECONDS (default 5) per step.
 *
 * Goal (issue #14): flat within ±20 % from 1,000 to 100,000 members and from 10 to 10,000 nets.
 */
import type { ChildProcess } from "node:child_process";
import os from "node:os";
import pg from "pg";
import { migrate } from "../core/database/migrate.ts";
import { signJwt } from "../core/jwt.ts";
import { freePort } from "../core/net.ts";
import { startCluster } from "../test/support/cluster.ts";
import { loadAverage, measureCpu, startChild, stopChildren, waitFor } from "./support/setup.ts";
import { runWrk, type WrkRequest } from "./support/wrk.ts";

const JWT_SECRET = "bench-secret-bench-secret-bench-secret-0123";
const LIVEKIT = { LIVEKIT_URL: "wss://livekit.bench.invalid", LIVEKIT_API_KEY: "APIbench", LIVEKIT_API_SECRET: "bench-livekit-secret-0123456789abcdef" };
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ASKING = 64;

interface Organisation {
  sweep: "members" | "nets";
  members: number;
  nets: number;
  database: string;
  url: string;
  port: number;
  child: ChildProcess;
  requests: WrkRequest[];
  runs: { perSecond: number; p99: number; postgresCpuUs: number; serverCpuUs: number; errors: number }[];
}

async function organisation(cluster: Awaited<ReturnType<typeof startCluster>>, sweep: Organisation["sweep"], members: number, nets: number): Promise<Organisation> {
  const database = `scale_${members}_${nets}`;
  const admin = new pg.Client({ connectionString: cluster.adminUrl() });
  await admin.connect();
  await admin.query(`create database ${database}`);
  await admin.end();
  const url = cluster.adminUrl(database);
  await migrate(url);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  // Members in bulk, the operators' way (plain SQL), with a fixed password hash: bcrypt for 100,000 would take minutes.
  await db.query(
    `with u as (insert into auth.users (email, password_hash)
                select 'm' || i || '@scale.invalid', '$2a$04$abcdefghijklmnopqrstuuJ3Jp2lUzTgQq4dHz0mHvMlx6qg8rDy2' from generate_series(1, $1) i
                returning id, email)
     insert into public.profiles (id, callsign, rank)
     select id, 'M' || split_part(split_part(email, '@', 1), 'm', 2), 'SCOUT' from u`,
    [members],
  );
  // Open nets; on every third one SCOUTs may listen but not speak.
  await db.query(
    `insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
     select 'Net ' || i, 'net-' || i, 'VAGRANT', 'VAGRANT', case when i % 3 = 0 then 'VOYAGER' else 'SCOUT' end::public.rank
       from generate_series(1, $1) i`,
    [nets],
  );
  // Every member has a bucket already: the table is as large as the membership.
  await db.query(`insert into nexus_private.rate_limit_buckets (user_id, action, tokens, refilled_at)
                  select id, 'livekit_token', 1000000, now() from public.profiles`);
  await db.query("analyze");
  const { rows } = await db.query<{ id: string }>(
    "select id from (select id, row_number() over (order by id) as n from public.profiles) p where n % greatest(1, $1::int / $2::int) = 0 order by n limit $2::int",
    [members, ASKING],
  );
  const asked = Array.from({ length: ASKING }, (_, i) => `net-${1 + Math.floor((i * nets) / ASKING)}`);
  await db.end();
  const requests = await Promise.all(
    rows.map(async (r, i) => ({
      authorization: `Bearer ${await signJwt(JWT_SECRET, { sub: r.id, role: "authenticated" }, 3600)}`,
      body: JSON.stringify({ roomName: asked[i % asked.length] }),
    })),
  );
  const port = await freePort();
  const child = startChild("main.ts", ["--server"], {
    NODE_ENV: "production",
    DATABASE_URL: url,
    JWT_SECRET,
    PORT: String(port),
    LOG_LEVEL: "warn",
    LIVEKIT_TOKEN_BURST: "1000000",
    LIVEKIT_TOKENS_PER_MINUTE: "1000000",
    ...LIVEKIT,
  });
  await waitFor(`http://127.0.0.1:${port}/readyz`, {}, (res) => res.ok, child, database);
  return { sweep, members, nets, database, url, port, child, requests, runs: [] };
}

async function main() {
  const cluster = await startCluster();
  const children: ChildProcess[] = [];
  try {
    const orgs: Organisation[] = [];
    for (const [sweep, members, nets] of [
      ["members", 1_000, 10],
      ["members", 10_000, 10],
      ["members", 100_000, 10],
      ["nets", 1_000, 100],
      ["nets", 1_000, 1_000],
      ["nets", 1_000, 10_000],
    ] as const) {
      const org = await organisation(cluster, sweep, members, nets);
      children.push(org.child);
      orgs.push(org);
    }
    const target = (org: Organisation) => ({ url: `http://127.0.0.1:${org.port}/functions/v1/livekit-token`, requests: org.requests });
    for (const org of orgs) {
      const r = org.requests[0]!;
      const res = await fetch(target(org).url, { method: "POST", headers: { "content-type": "application/json", authorization: r.authorization! }, body: r.body });
      const text = await res.text();
      if (res.status !== 200 || !text.includes('"token":"ey')) throw new Error(`${org.database} answered ${res.status} ${text}`);
      await runWrk({ ...target(org), connections: 16, seconds: 2 });
    }
    const load = { start: loadAverage(), end: "" };
    for (let round = 0; round < 2; round++) {
      for (const org of round % 2 === 0 ? orgs : [...orgs].reverse()) {
        const { result, processCpu, postgresCpu } = await measureCpu(org.url, org.database, [org.child.pid!], () => runWrk({ ...target(org), connections: 32, seconds: SECONDS }));
        org.runs.push({
          perSecond: result.perSecond,
          p99: result.p99,
          errors: result.errors,
          serverCpuUs: (processCpu / result.requests) * 1e6,
          postgresCpuUs: (postgresCpu / result.requests) * 1e6,
        });
      }
    }
    load.end = loadAverage();

    const mean = (org: Organisation, key: "perSecond" | "p99" | "postgresCpuUs" | "serverCpuUs") => org.runs.reduce((n, r) => n + r[key], 0) / org.runs.length;
    console.log(`\nvoice-token-scale: REST livekit-token, concurrency 32, wrk, ${SECONDS} s x 2 rounds each, ${os.cpus().length} CPUs, node ${process.version}, load ${load.start} -> ${load.end}`);
    console.log("| members | nets | tokens/s | × smallest | p99 ms | server CPU µs | Postgres CPU µs | Postgres × smallest | errors |");
    console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const org of orgs) {
      const smallest = org.sweep === "members" ? orgs[0]! : orgs.find((o) => o.members === 1_000 && o.nets === 10)!;
      console.log(
        `| ${org.members.toLocaleString("en")} | ${org.nets.toLocaleString("en")} | ${mean(org, "perSecond").toFixed(0)} | ${(mean(org, "perSecond") / mean(smallest, "perSecond")).toFixed(2)} | ${mean(org, "p99").toFixed(1)} | ${mean(org, "serverCpuUs").toFixed(0)} | ${mean(org, "postgresCpuUs").toFixed(0)} | ${(mean(org, "postgresCpuUs") / mean(smallest, "postgresCpuUs")).toFixed(2)} | ${org.runs.reduce((n, r) => n + r.errors, 0)} |`,
      );
    }
    if (orgs.some((o) => o.runs.some((r) => r.errors > 0))) process.exitCode = 1;
  } finally {
    await stopChildren(children);
    cluster.stop();
  }
}

await main();
