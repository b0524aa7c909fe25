/**
 * What the LiveKit token bucket costs Postgres, option by option: the token's transaction exactly as the server
 * sends it (the caller's settings, then the decision of server/voice/tokens.ts GRANTS_QUERY, pipelined before one Sync; see
 * core/database/caller.ts), driven by pgbench (-M prepared, pipeline mode, its own process) on a cluster with
 * production durability (fsync, synchronous_commit on), one database per option, in alternating order.
 *
 *   no bucket            charge_rate_limit() replaced by a no-op: the decision alone, the floor
 *   unlogged (kept)      the bucket table as migrated: UNLOGGED, an upsert per token
 *   unlogged, async      the same with synchronous_commit = off in the token's transaction
 *   logged               the bucket table made LOGGED (WAL for every charge)
 *   logged, async        LOGGED with synchronous_commit = off
 *
 * 64 members round-robin, one net, the bucket wide enough never to refuse. Prints transactions/s and the CPU
 * of all Postgres processes (backends and the WAL writer) per transaction. `npm run bench -- rate-limit`;
 * BENCH_SECONDS (default 5) a step, BENCH_CLIENTS (default 16).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { loadConfig } from "../core/config.ts";
import { migrate } from "../core/database/migrate.ts";
import { pgSettingsFor, configPgSettings } from "../core/jwt.ts";
import { GRANTS_QUERY } from "../server/voice/tokens.ts";
import { startCluster } from "../test/support/cluster.ts";
import { loadAverage } from "./support/setup.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 16);
const ROUNDS = 3;
// The server's configuration for these settings, as a production server with this environment would have it.
const serverConfig = loadConfig({
  NODE_ENV: "production",
  DATABASE_URL: "postgres://bench@127.0.0.1/bench",
  JWT_SECRET: "bench-secret-bench-secret-bench-secret-0123",
  LIVEKIT_TOKEN_BURST: "1000000",
  LIVEKIT_TOKENS_PER_MINUTE: "1000000",
});


const OPTIONS: { name: string; setup: string[]; async: boolean }[] = [
  { name: "no bucket", setup: ["create or replace function nexus_private.charge_rate_limit(member uuid, action text, cost integer, refuse boolean default true) returns boolean language sql as $$ select true $$"], async: false },
  { name: "unlogged (kept)", setup: [], async: false },
  { name: "unlogged, async commit", setup: [], async: true },
  { name: "logged", setup: ["alter table nexus_private.rate_limit_buckets set logged"], async: false },
  { name: "logged, async commit", setup: ["alter table nexus_private.rate_limit_buckets set logged"], async: true },
];

function binDir(): string {
  return process.env.PG_BINDIR ?? (() => {
    try {
      return execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim();
    } catch {
      return "/usr/lib/postgresql/15/bin";
    }
  })();
}

/** CPU ticks of the postmaster, the children it has reaped (exited backends) and its live children. */
function clusterTicks(postmaster: number): number {
  const fields = (pid: number) => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ").map(Number);
  const own = fields(postmaster);
  let ticks = own[11]! + own[12]! + own[13]! + own[14]!; // utime, stime, cutime, cstime
  for (const child of readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, "utf8").trim().split(/\s+/).filter(Boolean)) {
    try {
      const f = fields(Number(child));
      ticks += f[11]! + f[12]!;
    } catch {
      // exited meanwhile: counted in cutime/cstime once reaped
    }
  }
  return ticks;
}

function pgbench(url: string, script: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(binDir(), "pgbench"), ["-n", "-M", "prepared", "-c", String(CLIENTS), "-j", "1", "-T", String(SECONDS), "-f", script, url], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.on("exit", (code) => {
      const tps = /tps = ([0-9.]+)/.exec(out)?.[1];
      const failed = /number of failed transactions: (\d+)/.exec(out)?.[1];
      if (code !== 0 || !tps || (failed && failed !== "0")) return reject(new Error(`pgbench failed (${code}): ${out}`));
      resolve(Number(tps));
    });
  });
}

async function main() {
  const cluster = await startCluster({ durable: true });
  const dir = mkdtempSync(path.join(os.tmpdir(), "nexus-rate-limit-"));
  try {
    const admin = new pg.Client({ connectionString: cluster.adminUrl() });
    await admin.connect();
    const postmaster = Number(readFileSync(`/proc/${(await admin.query("select pg_backend_pid() as pid")).rows[0].pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
    const databases: { name: string; url: string; script: string; tps: number[]; cpuUs: number[] }[] = [];
    for (const [i, option] of OPTIONS.entries()) {
      const name = `rl${i}`;
      await admin.query(`create database ${name}`);
      const url = cluster.adminUrl(name);
      await migrate(url);
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      for (const sql of option.setup) await db.query(sql);
      await db.query(`insert into public.voice_nets (name, room_name, min_rank_to_join, min_rank_to_rx, min_rank_to_tx) values ('Test room', 'test-room', 'VAGRANT', 'VAGRANT', 'SCOUT')`);
      const { rows } = await db.query<{ id: string }>(
        `with u as (insert into auth.users (email, password_hash) select 'rl' || i || '@bench.invalid', 'x' from generate_series(1, 64) i returning id, email)
         insert into public.profiles (id, callsign, rank) select id, 'RL' || split_part(split_part(email, '@', 1), 'rl', 2), 'SCOUT' from u returning id`,
      );
      await db.end();
      // The settings exactly as the server sends them (core/jwt.ts), one member's per pgbench client-side variable.
      const settingsOf = (id: string) => ({
        ...(option.async ? { synchronous_commit: "off" } : {}),
        ...pgSettingsFor({ sub: id, role: "authenticated", aud: "authenticated", exp: 9_999_999_999 }, configPgSettings(serverConfig)),
      });
      const first = settingsOf(rows[0]!.id);
      const names = Object.keys(first);
      const calls = names.map((n, k) => (n === "request.jwt.claims" || n === "request.jwt.claim.sub" ? `set_config('${n}', :v${k}, true)` : `set_config('${n}', '${first[n as keyof typeof first]}', true)`));
      const script = path.join(dir, `${name}.sql`);
      // pgbench variables are per client; a random member per transaction by a lookup of the member's settings.
      const members = rows.map((r) => settingsOf(r.id));
      const claims = members.map((m) => `'${(m as Record<string, string>)["request.jwt.claims"]}'`);
      const subs = members.map((m) => `'${(m as Record<string, string>)["request.jwt.claim.sub"]}'`);
      const k = names.indexOf("request.jwt.claims");
      const s = names.indexOf("request.jwt.claim.sub");
      writeFileSync(
        script,
        [
          "\\set i random(1, 64)",
          "\\startpipeline",
          `select ${calls.join(", ").replace(`:v${k}`, `(array[${claims.join(",")}])[:i]`).replace(`:v${s}`, `(array[${subs.join(",")}])[:i]`)};`,
          `${GRANTS_QUERY.text.replace("$1::text[]", "array['test-room']")};`,
          "\\endpipeline",
          "",
        ].join("\n"),
      );
      databases.push({ name: option.name, url, script, tps: [], cpuUs: [] });
    }
    await admin.end();
    for (const d of databases) await pgbench(d.url, d.script); // warm-up
    const load = { start: loadAverage(), end: "" };
    for (let round = 0; round < ROUNDS; round++) {
      for (const d of round % 2 === 0 ? databases : [...databases].reverse()) {
        const before = clusterTicks(postmaster);
        const tps = await pgbench(d.url, d.script);
        // pgbench's backends exit as it ends; their CPU reaches cutime once the postmaster has reaped them.
        await new Promise((r) => setTimeout(r, 300));
        const ticks = clusterTicks(postmaster) - before;
        d.tps.push(tps);
        d.cpuUs.push(((ticks / 100) * 1e6) / (tps * SECONDS));
      }
    }
    load.end = loadAverage();
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const floor = databases[0]!;
    console.log(`\nrate-limit: pgbench -M prepared, pipeline, ${CLIENTS} clients, ${SECONDS} s x ${ROUNDS} rounds, durable cluster, ${os.cpus().length} CPUs, load ${load.start} -> ${load.end}`);
    console.log("| option | transactions/s | × no bucket | Postgres CPU µs per token | bucket's share µs | runs (tps) |");
    console.log("| --- | ---: | ---: | ---: | ---: | --- |");
    for (const d of databases) {
      console.log(
        `| ${d.name} | ${mean(d.tps).toFixed(0)} | ${(mean(d.tps) / mean(floor.tps)).toFixed(2)} | ${mean(d.cpuUs).toFixed(0)} | ${(mean(d.cpuUs) - mean(floor.cpuUs)).toFixed(0)} | ${d.tps.map((t) => t.toFixed(0)).join(", ")} |`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    cluster.stop();
  }
}

await main();
