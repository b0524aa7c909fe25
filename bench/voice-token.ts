/**
 * Voice token throughput and latency: GraphQL issueVoiceToken and REST livekit-token on the real server, against
 * a bare node:http baseline (one pg query + one LiveKit signature, bench/support/voice-baseline.ts), all measured
 * in the same run on the same throwaway PostgreSQL, at concurrency 1 and 32. Loopback only, bounded in requests
 * and seconds. `npm run bench -- voice-token`.
 *
 * Goal (issue #3): GraphQL >= 0.5 x the baseline's throughput, p99 < 25 ms at concurrency 32.
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import pg from "pg";
import { signJwt } from "../core/jwt.ts";
import { startCluster } from "../test/support/cluster.ts";
import { runLoad, type LoadResult } from "./support/load.ts";
import { freePort } from "../core/net.ts";
import { benchDatabase, startChild } from "./support/setup.ts";

const JWT_SECRET = "bench-secret-bench-secret-bench-secret-0123";
const LIVEKIT = { LIVEKIT_URL: "wss://livekit.bench.invalid", LIVEKIT_API_KEY: "APIbench", LIVEKIT_API_SECRET: "bench-livekit-secret-0123456789abcdef" };
const MEMBERS = 64;
const PLAN = [
  { concurrency: 1, requests: 2000, maxSeconds: 8 },
  { concurrency: 32, requests: 8000, maxSeconds: 12 },
];


/** Wait until `ready(response)` holds for a request to url, or the child dies, or 60 s pass. */
async function waitFor(url: string, init: RequestInit, ready: (res: Response) => boolean, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    try {
      if (ready(await fetch(url, init))) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not come up within 60 s`);
}


/** CPU seconds (user + system) a process has used so far, from /proc (Linux); 0 once it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

interface Measured {
  name: string;
  concurrency: number;
  result: LoadResult;
  /** CPU time per request, µs: the HTTP server process and the Postgres backends serving it. */
  serverCpuUs: number;
  postgresCpuUs: number;
}

function row(m: Measured): string {
  const r = m.result;
  return `| ${m.name} | ${m.concurrency} | ${r.requests} | ${r.errors} | ${r.perSecond.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${m.serverCpuUs.toFixed(0)} | ${m.postgresCpuUs.toFixed(0)} |`;
}

async function main() {
  const cluster = await startCluster();
  const children: ChildProcess[] = [];
  try {
    const url = await benchDatabase(cluster);

    const db = new pg.Client({ connectionString: url });
    await db.connect();
    await db.query(`insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
                    values ('Test room', 'test-room', 'VAGRANT', 'VAGRANT', 'SCOUT')`);
    const { rows } = await db.query<{ id: string }>(
      `with u as (
         insert into auth.users (email, password_hash)
         select 'bench' || i || '@bench.invalid', crypt('x', gen_salt('bf', 4)) from generate_series(1, $1) i
         returning id, email)
       insert into public.profiles (id, callsign, rank)
       select id, 'Bench' || split_part(split_part(email, '@', 1), 'bench', 2), 'SCOUT' from u returning id`,
      [MEMBERS],
    );
    await db.end();
    const members = await Promise.all(rows.map(async (r) => ({ id: r.id, jwt: await signJwt(JWT_SECRET, { sub: r.id, role: "authenticated" }, 3600) })));

    const [nexusPort, basePort] = [await freePort(), await freePort()];
    const nexus = startChild("main.ts", ["--server"], {
      NODE_ENV: "production",
      DATABASE_URL: url,
      JWT_SECRET,
      PORT: String(nexusPort),
      LOG_LEVEL: "warn",
      // 64 members asking hundreds of times a second: the per-member token bucket is charged on every request
      // (its cost is measured) but set wide enough never to refuse.
      LIVEKIT_TOKEN_BURST: "1000000",
      LIVEKIT_TOKENS_PER_MINUTE: "1000000",
      ...LIVEKIT,
    });
    const baseline = startChild("bench/support/voice-baseline.ts", [], { DATABASE_URL: url, PORT: String(basePort), ...LIVEKIT });
    children.push(nexus, baseline);
    await waitFor(`http://127.0.0.1:${nexusPort}/readyz`, {}, (res) => res.ok, nexus, "server");
    await waitFor(`http://127.0.0.1:${basePort}/`, { method: "POST", body: "{}" }, () => true, baseline, "baseline");

    const targets = {
      baseline: {
        url: `http://127.0.0.1:${basePort}/`,
        request: (i: number) => ({ headers: {}, body: JSON.stringify({ userId: members[i % MEMBERS]!.id, roomName: "test-room" }) }),
        ok: (status: number, body: string) => status === 200 && body.includes('"token":"ey'),
      },
      "GraphQL issueVoiceToken": {
        url: `http://127.0.0.1:${nexusPort}/graphql`,
        request: (i: number) => ({
          headers: { authorization: `Bearer ${members[i % MEMBERS]!.jwt}` },
          body: JSON.stringify({ query: `mutation { issueVoiceToken(input: { roomName: "test-room" }) { token canPublish expiresAt } }` }),
        }),
        ok: (status: number, body: string) => status === 200 && body.includes('"token":"ey') && body.includes('"canPublish":true'),
      },
      "REST livekit-token": {
        url: `http://127.0.0.1:${nexusPort}/functions/v1/livekit-token`,
        request: (i: number) => ({
          headers: { authorization: `Bearer ${members[i % MEMBERS]!.jwt}` },
          body: JSON.stringify({ roomName: "test-room", participantName: "Bench" }),
        }),
        ok: (status: number, body: string) => status === 200 && body.includes('"token":"ey'),
      },
    };

    // Warm up every target (JIT, pools, prepared plans) before measuring.
    for (const target of Object.values(targets)) await runLoad({ ...target, concurrency: 8, requests: 400, maxSeconds: 5 });

    const monitor = new pg.Client({ connectionString: url });
    await monitor.connect();
    const backends = async () =>
      (await monitor.query<{ pid: number }>("select pid from pg_stat_activity where datname = 'bench' and pid <> pg_backend_pid()")).rows.map((r) => r.pid);
    const results: Measured[] = [];
    for (const step of PLAN) {
      for (const [name, target] of Object.entries(targets)) {
        const server = name === "baseline" ? baseline : nexus;
        const before = new Map((await backends()).map((pid) => [pid, cpuSeconds(pid)]));
        const serverBefore = cpuSeconds(server.pid!);
        const result = await runLoad({ ...target, ...step });
        const serverCpu = cpuSeconds(server.pid!) - serverBefore;
        let postgresCpu = 0;
        for (const pid of new Set([...before.keys(), ...(await backends())])) postgresCpu += cpuSeconds(pid) - (before.get(pid) ?? 0);
        results.push({
          name,
          concurrency: step.concurrency,
          result,
          serverCpuUs: (serverCpu / result.requests) * 1e6,
          postgresCpuUs: (postgresCpu / result.requests) * 1e6,
        });
      }
    }
    await monitor.end();

    console.log(`\nvoice-token: ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim()}), node ${process.version}, ${MEMBERS} SCOUT members, net test-room`);
    console.log("| target | concurrency | requests | errors | tokens/s | p50 ms | p99 ms | server CPU µs/req | Postgres CPU µs/req |");
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const r of results) console.log(row(r));
    for (const step of PLAN) {
      const base = results.find((r) => r.name === "baseline" && r.concurrency === step.concurrency)!.result;
      for (const r of results.filter((x) => x.name !== "baseline" && x.concurrency === step.concurrency)) {
        console.log(`c=${step.concurrency} ${r.name}: ${(r.result.perSecond / base.perSecond).toFixed(2)} x baseline throughput, p99 ${r.result.p99.toFixed(1)} ms`);
      }
    }
    const failed = results.reduce((n, r) => n + r.result.errors, 0);
    if (failed > 0) {
      console.error(`${failed} requests failed`);
      process.exitCode = 1;
    }
  } finally {
    for (const child of children) child.kill("SIGTERM");
    await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once("exit", r)))));
    cluster.stop();
  }
}

await main();
