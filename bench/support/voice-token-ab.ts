/**
 * A/B for the voice token path: the API server of two (or more) source trees, each on its own database of one
 * throwaway cluster (so each tree's SQL functions are its own), loaded in alternation: round after round, the
 * order reversed every round, so drift in the machine's load falls on both alike. Prints tokens/s, p99 and the CPU
 * per token of each server process and of its Postgres backends, per round and averaged. On a shared machine a
 * difference under ~5 % is noise. Check the error count: a failed request is cheap and fast.
 *
 *   node_modules/.bin/node bench/support/voice-token-ab.ts <tree> <tree>[::<node flags>] …
 *
 * A tree is a checkout with node_modules (e.g. `git archive main | tar -x -C /tmp/a && ln -s $PWD/node_modules
 * /tmp/a/`). Environment: TARGET=graphql (issueVoiceToken, default) | rest (livekit-token) | batch
 * (issueVoiceTokens over NETS nets, default 10); ROUNDS (6), SECONDS per round (5), C concurrency (32). Load from wrk (bench/support/wrk.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import pg from "pg";
import { signJwt } from "../../core/jwt.ts";
import { startCluster } from "../../test/support/cluster.ts";
import { runWrk, type WrkRequest } from "./wrk.ts";

const JWT_SECRET = "bench-secret-bench-secret-bench-secret-0123";
const LIVEKIT = { LIVEKIT_URL: "wss://livekit.bench.invalid", LIVEKIT_API_KEY: "APIbench", LIVEKIT_API_SECRET: "bench-livekit-secret-0123456789abcdef" };
// As in bench/voice-token.ts: the per-member token bucket is charged on every request but never refuses.
const RATE_LIMITS = { LIVEKIT_TOKEN_BURST: "1000000", LIVEKIT_TOKENS_PER_MINUTE: "1000000" };
const ROUNDS = Number(process.env.ROUNDS ?? 6);
const SECONDS = Number(process.env.SECONDS ?? 5);
const CONCURRENCY = Number(process.env.C ?? 32);
const TARGET = process.env.TARGET ?? "graphql";
const NETS = Array.from({ length: Number(process.env.NETS ?? 10) }, (_, i) => `n${i + 1}`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc; 0 once it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

interface AbTarget {
  url: string;
  requests: WrkRequest[];
  ok(status: number, body: string): boolean;
}

function target(port: number, jwts: string[]): AbTarget {
  const auth = (jwt: string) => `Bearer ${jwt}`;
  if (TARGET === "rest") {
    return {
      url: `http://127.0.0.1:${port}/functions/v1/livekit-token`,
      requests: jwts.map((jwt) => ({ authorization: auth(jwt), body: JSON.stringify({ roomName: "test-room", participantName: "Bench" }) })),
      ok: (status, body) => status === 200 && body.includes('"token":"ey'),
    };
  }
  if (TARGET === "batch") {
    const query = `mutation($n: [String!]) { issueVoiceTokens(input: { roomNames: $n }) { results { voiceToken { token } error { code } } } }`;
    return {
      url: `http://127.0.0.1:${port}/graphql`,
      requests: jwts.map((jwt) => ({ authorization: auth(jwt), body: JSON.stringify({ query, variables: { n: NETS } }) })),
      ok: (status, body) => status === 200 && (body.match(/"token":"ey/g) ?? []).length === NETS.length,
    };
  }
  const query = `mutation { issueVoiceToken(input: { roomName: "test-room" }) { token canPublish expiresAt } }`;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    requests: jwts.map((jwt) => ({ authorization: auth(jwt), body: JSON.stringify({ query }) })),
    ok: (status, body) => status === 200 && body.includes('"token":"ey') && body.includes('"canPublish":true'),
  };
}

/** A real answer of the target, checked in full (wrk only sees status codes). */
async function check(t: AbTarget, label: string): Promise<void> {
  const r = t.requests[0]!;
  const res = await fetch(t.url, { method: "POST", headers: { "content-type": "application/json", authorization: r.authorization! }, body: r.body });
  const text = await res.text();
  if (!t.ok(res.status, text)) throw new Error(`${label} answered ${res.status} ${text}`);
}

interface Server {
  label: string;
  port: number;
  app: string;
  child: ChildProcess;
  jwts: string[];
  totals: { perSecond: number; p99: number; server: number; postgres: number; errors: number; rounds: number };
}

async function startServer(cluster: Awaited<ReturnType<typeof startCluster>>, spec: string, i: number): Promise<Server> {
  const [dir, flags] = spec.split("::") as [string, string | undefined];
  const root = path.resolve(dir);
  const admin = new pg.Client({ connectionString: cluster.adminUrl() });
  await admin.connect();
  await admin.query(`create database ab${i}`);
  await admin.end();
  const url = cluster.adminUrl(`ab${i}`);
  // Trees from before the core/ layout keep these files under server/.
  const inTree = (now: string, before: string) => path.join(root, existsSync(path.join(root, now)) ? now : before);
  const { migrate } = (await import(inTree("core/database/migrate.ts", "server/database/migrate.ts"))) as { migrate(url: string): Promise<void> };
  await migrate(url);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  await db.query(`insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx)
                  select name, name, 'VAGRANT', 'VAGRANT', 'SCOUT' from unnest($1::text[]) name`, [["test-room", ...NETS]]);
  const { rows } = await db.query<{ id: string }>(
    `with u as (insert into auth.users (email, password_hash)
                select 'bench' || i || '@bench.invalid', 'x' from generate_series(1, 64) i returning id, email)
     insert into public.profiles (id, callsign, rank)
     select id, 'Bench' || split_part(split_part(email, '@', 1), 'bench', 2), 'SCOUT' from u returning id`,
  );
  await db.end();
  const jwts = await Promise.all(rows.map((r) => signJwt(JWT_SECRET, { sub: r.id, role: "authenticated" }, 3600)));
  const port = await freePort();
  const app = `ab${i}`;
  const child = spawn(process.execPath, [...(flags ? flags.split(" ") : []), inTree("main.ts", "server/main.ts"), "--server"], {
    cwd: root,
    env: { ...process.env, NODE_ENV: "production", DATABASE_URL: `${url}?application_name=${app}`, JWT_SECRET, PORT: String(port), LOG_LEVEL: "warn", ...LIVEKIT, ...RATE_LIMITS },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${spec} exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${spec} did not come up within 60 s`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { label: spec, port, app, child, jwts, totals: { perSecond: 0, p99: 0, server: 0, postgres: 0, errors: 0, rounds: 0 } };
}

const specs = process.argv.slice(2);
if (specs.length < 2) {
  console.error("usage: voice-token-ab.ts <tree> <tree>[::<node flags>] …");
  process.exit(2);
}
const cluster = await startCluster();
const servers: Server[] = [];
try {
  for (const [i, spec] of specs.entries()) servers.push(await startServer(cluster, spec, i));
  // Warm up (JIT, pools, prepared statements) before measuring.
  for (const s of servers) {
    await check(target(s.port, s.jwts), s.label);
    await runWrk({ ...target(s.port, s.jwts), connections: 8, seconds: 3 });
  }
  const monitor = new pg.Client({ connectionString: cluster.adminUrl() });
  await monitor.connect();
  const width = Math.max(...servers.map((s) => s.label.length));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const s of order) {
      const backends = async () =>
        (await monitor.query<{ pid: number }>("select pid from pg_stat_activity where application_name = $1", [s.app])).rows.map((r) => r.pid);
      // Backends the pool opens during the round count from zero.
      const before = new Map((await backends()).map((pid) => [pid, cpuSeconds(pid)]));
      const serverBefore = cpuSeconds(s.child.pid!);
      const result = await runWrk({ ...target(s.port, s.jwts), connections: CONCURRENCY, seconds: SECONDS });
      const server = ((cpuSeconds(s.child.pid!) - serverBefore) / result.requests) * 1e6;
      let postgresSeconds = 0;
      for (const pid of new Set([...before.keys(), ...(await backends())])) postgresSeconds += Math.max(0, cpuSeconds(pid) - (before.get(pid) ?? 0));
      const postgres = (postgresSeconds / result.requests) * 1e6;
      console.log(
        `round ${round} ${s.label.padEnd(width)} ${result.perSecond.toFixed(0).padStart(5)}/s p50 ${result.p50.toFixed(1)} p99 ${result.p99.toFixed(1)} ms` +
          ` server ${server.toFixed(0)} µs Postgres ${postgres.toFixed(0)} µs errors ${result.errors}`,
      );
      const t = s.totals;
      t.perSecond += result.perSecond;
      t.p99 += result.p99;
      t.server += server;
      t.postgres += postgres;
      t.errors += result.errors;
      t.rounds++;
    }
  }
  await monitor.end();
  for (const s of servers) {
    const t = s.totals;
    console.log(
      `mean ${s.label.padEnd(width)} ${(t.perSecond / t.rounds).toFixed(0).padStart(5)}/s p99 ${(t.p99 / t.rounds).toFixed(1)} ms` +
        ` server ${(t.server / t.rounds).toFixed(0)} µs Postgres ${(t.postgres / t.rounds).toFixed(0)} µs per request, ${t.errors} errors`,
    );
  }
} finally {
  for (const s of servers) s.child.kill("SIGTERM");
  await Promise.all(servers.map((s) => (s.child.exitCode !== null ? undefined : new Promise((r) => s.child.once("exit", r)))));
  cluster.stop();
}
