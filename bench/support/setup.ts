/** What every benchmark sets up the same way: a migrated database on a throwaway cluster, and child processes. */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { migrate, ROOT } from "../../core/database/migrate.ts";
import type { Cluster } from "../../test/support/cluster.ts";

/** Create the `bench` database on the cluster, migrate it, and return its URL. */
export async function benchDatabase(cluster: Cluster): Promise<string> {
  const admin = new pg.Client({ connectionString: cluster.adminUrl() });
  await admin.connect();
  await admin.query("create database bench");
  await admin.end();
  const url = cluster.adminUrl("bench");
  await migrate(url);
  return url;
}

/**
 * Run a script of this repository in its own Node process (stdout ignored, stderr shown).
 * BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each such process there (open it in Chrome DevTools).
 */
export function startChild(script: string, args: string[], env: Record<string, string>): ChildProcess {
  const profile = process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  return spawn(process.execPath, [...profile, path.join(ROOT, script), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
}

/** Wait until `ready(response)` holds for a request to url, or the child dies, or 60 s pass. */
export async function waitFor(url: string, init: RequestInit, ready: (res: Response) => boolean, child: ChildProcess, what: string): Promise<void> {
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
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

/** The machine's 1-minute load average, for the figures' context. */
export function loadAverage(): string {
  return os.loadavg()[0]!.toFixed(1);
}

/**
 * CPU seconds used while `run` runs, by the given processes and by the database's backends (every connection to
 * `database` on the cluster, found through pg_stat_activity before and after).
 */
export async function measureCpu<T>(url: string, database: string, pids: number[], run: () => Promise<T>): Promise<{ result: T; processCpu: number; postgresCpu: number }> {
  const monitor = new pg.Client({ connectionString: url });
  await monitor.connect();
  try {
    const backends = async () =>
      (await monitor.query<{ pid: number }>("select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()", [database])).rows.map((r) => r.pid);
    const before = new Map((await backends()).map((pid) => [pid, cpuSeconds(pid)]));
    const processBefore = pids.map(cpuSeconds);
    const result = await run();
    const processCpu = pids.reduce((sum, pid, i) => sum + cpuSeconds(pid) - processBefore[i]!, 0);
    let postgresCpu = 0;
    // A backend that exited meanwhile (a pool closing an idle connection) reads 0: count none of it rather than
    // a negative amount.
    for (const pid of new Set([...before.keys(), ...(await backends())])) postgresCpu += Math.max(0, cpuSeconds(pid) - (before.get(pid) ?? 0));
    return { result, processCpu, postgresCpu };
  } finally {
    await monitor.end();
  }
}

/** Stop the children (SIGTERM) and wait for them to exit. */
export async function stopChildren(children: ChildProcess[]): Promise<void> {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once("exit", r)))));
}

/** The median of some figures (the middle round of a bench measured in rounds). */
export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
